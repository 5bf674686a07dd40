import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Claimed } from "../../../src/domain/Task.js"
import * as WorkerPool from "../../../src/services/pool/WorkerPool.js"
import { claimed } from "../../fixtures/claimed.js"

// Real worker threads running the compiled entry and fixture (npm test builds first).
const entry = new URL("../../../dist/src/workers/main.js", import.meta.url)
const handlersModule = fileURLToPath(new URL("../../../dist/test/fixtures/handlers.js", import.meta.url))

let seq = 0
const task = (type: string, payload: unknown, attempt = 1): Claimed => claimed(`${type}-${++seq}`, type, payload, attempt)
const batch = (...tasks: NonEmptyReadonlyArray<Claimed>) => tasks

const poolLayer = WorkerPool.layer({ handlersModule, size: 2, heapLimitMb: 64, entry })

layer(poolLayer, { timeout: 60_000, excludeTestServices: true })("WorkerPool", (it) => {
  it.effect("runs a batch in one request, one typed outcome per task, in order", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      const tasks = Array.from({ length: 50 }, (_, n) => task("echo", { n }))
      const { outcomes } = yield* pool.run(batch(tasks[0]!, ...tasks.slice(1)))
      expect(outcomes.map((o) => o._tag === "Succeeded" ? o.result : o._tag)).toStrictEqual(tasks.map((_, n) => ({ n })))
      expect(outcomes.map((o) => o.id)).toStrictEqual(tasks.map((t) => t.id))
    }))

  it.effect("a typed failure comes back encoded; an unknown type is HandlerNotFound", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      const [refused, unknown] = (yield* pool.run(batch(task("refuse", { n: 7 }), task("nope", {})))).outcomes
      expect(refused?._tag === "Failed" && refused.error._tag === "HandlerFailure" && refused.error.error).toStrictEqual({ _tag: "Refused", reason: "no 7" })
      expect(unknown?._tag === "Failed" && unknown.error._tag).toBe("HandlerNotFound")
    }))

  it.effect("a reservation whose batch never starts gives its room back; once started, cancel leaves it alone", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      yield* pool.whenFull
      /** Takes every idle thread's room (a batch that is not short waits behind nothing). */
      const takeAll = Effect.gen(function*() {
        const taken = []
        for (;;) {
          const r = yield* pool.reserve(false)
          if (r._tag === "None") return taken
          taken.push(r.value)
        }
      })
      const [first, second] = yield* takeAll
      if (first === undefined || second === undefined) return expect.fail("two idle threads, two reservations")
      // The batch's effect is made (as the dispatcher does before forking it), then the batch
      // is stopped before it starts (shutdown): its room must come back.
      const never = first.run(batch(task("echo", { n: 1 })), false)
      yield* first.cancel
      const [third, ...more] = yield* takeAll
      expect(more).toStrictEqual([])
      if (third === undefined) return expect.fail("the room came back")
      // Started: the request gives the room back when it ends; a cancel afterwards changes nothing.
      const { outcomes } = yield* third.run(batch(task("echo", { n: 2 })), false)
      expect(outcomes.map((o) => o._tag)).toStrictEqual(["Succeeded"])
      yield* third.cancel
      yield* second.cancel
      const rest = yield* takeAll
      yield* Effect.forEach(rest, (r) => r.cancel, { discard: true })
      expect(rest.length).toBe(2)
      expect(Effect.isEffect(never)).toBe(true)
    }))

  const crashes = [["exit", "exit"], ["asyncThrow", "error"], ["oom", "oom"]] as const
  for (const [type, reason] of crashes) {
    it.effect(`a thread that dies (${type}) fails only its attempts, is replaced, and the retry succeeds`, () =>
      Effect.gen(function*() {
        const pool = yield* WorkerPool.WorkerPool
        const before = yield* pool.replaced
        // The crash and a concurrent batch run at once, on the two threads.
        const [{ outcomes: crashed }, { outcomes: others }] = yield* Effect.all([
          pool.run(batch(task(type, { n: 1 }))),
          pool.run(batch(task("spin", { ms: 5 }), task("echo", { n: 2 })))
        ], { concurrency: "unbounded" })
        const outcome = crashed[0]!
        expect(outcome._tag).toBe("Failed")
        if (outcome._tag === "Failed") {
          // A thread past its heap limit is WorkerOutOfMemory; any other death WorkerCrashed.
          const tag = outcome.error._tag
          expect(tag).toBe(reason === "oom" ? "WorkerOutOfMemory" : "WorkerCrashed")
          if (outcome.error._tag === "WorkerCrashed") expect(outcome.error.reason).toBe(reason)
        }
        expect(others.map((o) => o._tag)).toStrictEqual(["Succeeded", "Succeeded"])
        expect(yield* pool.replaced).toBe(before + 1)
        const [retry] = (yield* pool.run(batch(task(type, { n: 1 }, 2)))).outcomes
        expect(retry?._tag === "Succeeded" && retry.result).toBe(2)
        yield* pool.whenFull
        expect(yield* pool.size).toBe(2)
      }))
  }
})

describe("WorkerPool start-up", () => {
  it.live("a handlers module that cannot load fails the layer with a clear error instead of hanging", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(
        WorkerPool.layer({ handlersModule: "/nonexistent/handlers.js", size: 1, entry, startTimeout: "3 seconds" })
      )))
      expect(error._tag).toBe("WorkerPoolError")
      expect(error.message).toContain("/nonexistent/handlers.js")
    }))
})

describe("WorkerPool target size", () => {
  it.live("shrinks to a lower target (busy threads finish first) and grows back", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      expect(yield* pool.size).toBe(3)
      // A slow task keeps the third thread busy while the target drops to one.
      const slow = yield* Effect.fork(pool.run(batch(task("spin", { ms: 300 }), task("spin", { ms: 300 }), task("spin", { ms: 300 }))))
      yield* pool.setTarget(1)
      expect(yield* pool.target).toBe(1)
      const { outcomes } = yield* pool.run(batch(task("echo", { n: 1 })))
      expect(outcomes.map((o) => o._tag)).toStrictEqual(["Succeeded"])
      const ran = yield* slow.await
      expect(ran._tag).toBe("Success")
      expect(yield* pool.size).toBe(1)
      expect((yield* pool.workers).filter((w) => w.state !== "starting").length).toBeLessThanOrEqual(1)
      yield* pool.setTarget(3)
      yield* pool.whenFull
      expect(yield* pool.size).toBe(3)
      const again = yield* pool.run(batch(task("echo", { n: 2 })))
      expect(again.outcomes.map((o) => o._tag)).toStrictEqual(["Succeeded"])
      // Never below the configured minimum.
      yield* pool.setTarget(0)
      expect(yield* pool.target).toBe(1)
    }).pipe(Effect.provide(WorkerPool.layer({ handlersModule, size: { min: 1, max: 3 }, heapLimitMb: 64, entry }))), 60_000)
})

describe("WorkerPool thread hygiene", () => {
  it.live("a thread is recycled after N tasks: a fresh thread, no crash counted, work goes on", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      for (let n = 0; n < 3; n++) yield* pool.run(batch(task("echo", { n })))
      yield* pool.whenFull
      const [worker] = yield* pool.workers
      expect([worker?.generation, worker?.recycled]).toStrictEqual([1, 1])
      expect([yield* pool.recycled, yield* pool.replaced]).toStrictEqual([1, 0])
      const { outcomes } = yield* pool.run(batch(task("echo", { n: 9 })))
      expect(outcomes.map((o) => o._tag)).toStrictEqual(["Succeeded"])
    }).pipe(Effect.provide(WorkerPool.layer({ handlersModule, size: 1, heapLimitMb: 64, entry, recycleAfterTasks: 3 }))), 60_000)

  it.live("a thread stuck in synchronous code is busy, not stale, while it runs its task; a cancel past the grace period kills it", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      const stuck = task("block", {})
      const running = yield* Effect.fork(pool.run(batch(stuck)))
      // Real threads are not under TestClock: poll until the thread has started the task and
      // has been silent for longer than staleAfterMs.
      const started = yield* pool.workers.pipe(
        Effect.delay("50 millis"),
        Effect.repeat({ until: (ws) => ws[0]?.currentTask === stuck.id })
      )
      const silent = yield* pool.workers.pipe(
        Effect.delay("100 millis"),
        Effect.repeat({ until: (ws) => ws[0]?.lastSeenAt !== null && Date.now() - ws[0]!.lastSeenAt! > 400 })
      )
      expect([started[0]?.state, silent[0]?.state]).toStrictEqual(["busy", "busy"])
      // Cancel it: the watchdog kills the thread after the grace period and the pool recovers.
      yield* pool.interrupt([stuck.id])
      const ran = yield* Fiber.join(running)
      expect(ran.outcomes.map((o) => o._tag)).toStrictEqual(["Failed"])
      yield* pool.whenFull
      expect((yield* pool.workers).map((w) => w.state)).toStrictEqual(["idle"])
    }).pipe(Effect.provide(WorkerPool.layer({ handlersModule, size: 1, heapLimitMb: 64, entry, staleAfterMs: 300, graceMs: 300 }))), 60_000)
})
