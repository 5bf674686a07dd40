import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import * as TroupeTest from "../../../src/runtime/TroupeTest.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { advance } from "../../support/clock.js"

// Lifecycle control end to end on the test kit (SQLite in memory, in-process handlers, TestClock).

interface Run {
  readonly n: number
  readonly key: string
  readonly start: number
  end: number
}
const runs: Array<Run> = []
const running = new Map<string, number>()
let maxRunning = new Map<string, number>()

const reset = () => {
  runs.length = 0
  running.clear()
  maxRunning = new Map()
}

/** Records start and end (TestClock time) and how many of a group overlap. */
const track = (n: number, group: string, ms: number) =>
  Effect.gen(function*() {
    const run: Run = { n, key: group, start: yield* Clock.currentTimeMillis, end: -1 }
    runs.push(run)
    const now = (running.get(group) ?? 0) + 1
    running.set(group, now)
    maxRunning.set(group, Math.max(maxRunning.get(group) ?? 0, now))
    yield* Effect.sleep(Duration.millis(ms)).pipe(
      Effect.ensuring(Effect.sync(() => running.set(group, running.get(group)! - 1)))
    )
    run.end = yield* Clock.currentTimeMillis
  })

const Step = TaskDefinition.make("step", {
  payload: Schema.Struct({ n: Schema.Number, ms: Schema.Number, group: Schema.String }),
  execution: "fiber"
})
const Limited = TaskDefinition.make("limited", {
  payload: Schema.Struct({ n: Schema.Number }),
  concurrency: 2,
  execution: "fiber"
})
const Boom = TaskDefinition.make("boom", {
  payload: Schema.Struct({ n: Schema.Number }),
  retry: { maxAttempts: 1 },
  execution: "fiber"
})

const finalized: Array<number> = []
const stoppedAt = new Map<number, number>()
/** Waits for a long time; when interrupted, its finalizer takes 500 ms to clean up. */
const SlowStop = TaskDefinition.make("slowStop", {
  payload: Schema.Struct({ n: Schema.Number }),
  execution: "fiber"
})
/** Waits for a long time; its finalizer records that it ran. */
const Slow = TaskDefinition.make("slow", {
  payload: Schema.Struct({ n: Schema.Number, ms: Schema.Number }),
  retry: { maxAttempts: 2, backoff: "fixed", initialDelay: "1 second", jitter: false },
  execution: "fiber"
})

const handlers = Handlers.make(
  SlowStop.handler(({ n }) =>
    Effect.never.pipe(
      Effect.onInterrupt(() =>
        Effect.zipRight(Effect.sleep("500 millis"), Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => stoppedAt.set(n, at))))
      )
    )),
  Slow.handler(({ ms, n }, ctx) =>
    Effect.zipRight(ctx.log("info", `attempt ${ctx.attempt}`), Effect.sleep(Duration.millis(ms))).pipe(
      Effect.onInterrupt(() => Effect.sync(() => finalized.push(n)))
    )),
  Step.handler(({ group, ms, n }) => track(n, group, ms)),
  Limited.handler(({ n }) => track(n, "limited", 100)),
  Boom.handler(() => Effect.die("boom"))
)


/** Waits for every task, advancing TestClock meanwhile. */
const drain = (ids: ReadonlyArray<TaskId.TaskId>, within: Duration.DurationInput = "30 seconds") =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    const all = yield* Effect.fork(Effect.forEach(ids, (id) => Effect.either(queue.await(Step, id))))
    yield* advance(within, "50 millis")
    return yield* Fiber.join(all)
  })

const tid = (s: string) => TaskId.unsafeMake(s)
const kit = (options: Parameters<typeof TroupeTest.layer>[1] = {}) => TroupeTest.layer(handlers, { fiberConcurrency: 8, ...options })

describe("Dependencies", () => {
  it.effect("a DAG of 50 tasks with diamonds and fan-in runs in topological order, independent branches in parallel", () =>
    Effect.gen(function*() {
      reset()
      const queue = yield* TaskQueue
      // Node i depends on up to three earlier nodes chosen deterministically: layers of
      // diamonds (i−1, i−2 share ancestors) and fan-in from far back.
      const depsOf = (i: number): Array<number> =>
        i === 0 ? [] : [...new Set([Math.floor(i / 2), Math.floor((i * 7) % i), i >= 10 ? i - 10 : Math.floor(i / 3)])].filter((d) => d < i)
      const items = Array.from({ length: 50 }, (_, i) => ({
        definition: Step,
        payload: { n: i, ms: 100 + (i % 3) * 50, group: "dag" },
        options: { id: `n${i}`, dependsOn: depsOf(i).map((d) => `n${d}`) }
      }))
      // Submitted in reverse: the order of a submitMany does not matter.
      const ids = yield* queue.submitMany([...items].reverse())
      const results = yield* drain(ids)
      expect(results.every((r) => r._tag === "Right")).toBe(true)
      const byN = new Map(runs.map((r) => [r.n, r] as const))
      expect(byN.size).toBe(50)
      for (let i = 0; i < 50; i++) {
        for (const d of depsOf(i)) expect(byN.get(i)!.start).toBeGreaterThanOrEqual(byN.get(d)!.end)
      }
      // Independent branches overlapped.
      expect(maxRunning.get("dag")!).toBeGreaterThan(1)
    }).pipe(Effect.provide(kit())))

  it.effect("a failed dependency fails its dependents transitively; await reports DependencyFailed", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const [root] = yield* queue.submitMany([{ definition: Boom, payload: { n: 1 }, options: { id: "root" } }])
      const [child, grandchild, other] = yield* queue.submitMany([
        { definition: Step, payload: { n: 2, ms: 10, group: "x" }, options: { id: "child", dependsOn: ["root"] } },
        { definition: Step, payload: { n: 3, ms: 10, group: "x" }, options: { id: "grandchild", dependsOn: ["child"] } },
        { definition: Step, payload: { n: 4, ms: 10, group: "x" }, options: { id: "other" } }
      ])
      yield* drain([root!, other!], "1 second")
      for (const id of [child!, grandchild!]) {
        const task = yield* queue.get(id)
        expect(task.status).toBe("failed")
        expect(task.errors.map((e) => e.error._tag)).toStrictEqual(["DependencyFailed"])
        const error = yield* Effect.flip(queue.await(Step, id))
        expect(error._tag).toBe("TaskFailed")
      }
      expect((yield* queue.get(other!)).status).toBe("completed")
    }).pipe(Effect.provide(kit())))

  it.effect("a cycle or an unknown dependency is rejected at submit and nothing is stored", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const step = (id: string, dependsOn: Array<string>) => ({ definition: Step, payload: { n: 0, ms: 1, group: "c" }, options: { id, dependsOn } })
      const cycle = yield* Effect.flip(queue.submitMany([step("a", ["c"]), step("b", ["a"]), step("c", ["b"])]))
      expect(cycle._tag).toBe("InvalidDependency")
      expect(cycle.message).toContain("dependency cycle")
      const self = yield* Effect.flip(queue.submitMany([step("s", ["s"])]))
      expect(self._tag).toBe("InvalidDependency")
      const unknown = yield* Effect.flip(queue.submitMany([step("u", ["missing"])]))
      expect(unknown.message).toContain("missing, which does not exist")
      expect(yield* queue.list({ limit: 10 })).toStrictEqual([])
    }).pipe(Effect.provide(kit())))
})

describe("Control", () => {
  it.effect("cancel a waiting task: it ends cancelled, await fails TaskCancelled, its dependents fail", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const a = yield* queue.submit(Step, { n: 1, ms: 10, group: "c" }, { delay: "1 minute", id: "a" })
      const b = yield* queue.submit(Step, { n: 2, ms: 10, group: "c" }, { dependsOn: ["a"] })
      yield* queue.cancel(a)
      expect((yield* queue.get(a)).status).toBe("cancelled")
      expect((yield* Effect.flip(queue.await(Step, a)))._tag).toBe("TaskCancelled")
      expect((yield* queue.get(b)).status).toBe("failed")
      const again = yield* Effect.flip(queue.cancel(a))
      expect(again._tag).toBe("InvalidTransition")
      expect((yield* Effect.flip(queue.cancel(tid("nope"))))._tag).toBe("TaskNotFound")
    }).pipe(Effect.provide(kit())))

  it.effect("cancel a running in-process task: its handler is interrupted (finalizer runs), it ends cancelled, no retry", () =>
    Effect.gen(function*() {
      finalized.length = 0
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Slow, { n: 1, ms: 60_000 })
      yield* advance("100 millis")
      expect((yield* queue.get(id)).status).toBe("running")
      yield* queue.cancel(id)
      yield* advance("100 millis")
      expect(finalized).toStrictEqual([1])
      const task = yield* queue.get(id)
      expect([task.status, task.attempt, task.errors]).toStrictEqual(["cancelled", 1, []])
      yield* advance("5 seconds", "100 millis")
      expect((yield* queue.get(id)).status).toBe("cancelled")
      // The executor serves the next task.
      const next = yield* queue.submit(Slow, { n: 2, ms: 10 })
      yield* drain([next], "1 second")
      expect((yield* queue.get(next)).status).toBe("completed")
    }).pipe(Effect.provide(kit({ fiberConcurrency: 1 }))))

  it.effect("a timeout interrupts the attempt (finalizer runs) and counts as a failed attempt that follows the retry policy", () =>
    Effect.gen(function*() {
      finalized.length = 0
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Slow, { n: 3, ms: 10_000 }, { timeout: "2 seconds" })
      yield* advance("2100 millis", "100 millis")
      expect(finalized).toStrictEqual([3])
      const retrying = yield* queue.get(id)
      expect([retrying.status, retrying.errors.map((e) => e.error._tag)]).toStrictEqual(["retrying", ["TaskTimeout"]])
      yield* advance("4 seconds", "100 millis")
      const failed = yield* queue.get(id)
      expect([failed.status, failed.attempt, failed.errors.map((e) => e.error._tag)])
        .toStrictEqual(["failed", 2, ["TaskTimeout", "TaskTimeout"]])
      // Its log lines were kept, one per attempt.
      const lines = Chunk.toReadonlyArray(yield* Stream.runCollect(queue.logs(id)))
      expect(lines.map((l) => [l.attempt, l.message])).toStrictEqual([[1, "attempt 1"], [2, "attempt 2"]])
    }).pipe(Effect.provide(kit())))

  it.effect("logs --follow: stored lines, then live ones until the task ends; events carries them queue-wide", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const all = yield* Effect.fork(Stream.runCollect(queue.events.pipe(Stream.take(7))))
      yield* Effect.yieldNow()
      const id = yield* queue.submit(Slow, { n: 5, ms: 1000 }, { timeout: "500 millis", retry: { maxAttempts: 2, initialDelay: "1 second" } })
      yield* advance("700 millis", "100 millis")
      // Attempt 1 timed out and logged a line; attempt 2 runs later.
      const following = yield* Effect.fork(Stream.runCollect(queue.logs(id, { follow: true })))
      yield* advance("3 seconds", "100 millis")
      const lines = Chunk.toReadonlyArray(yield* Fiber.join(following))
      expect(lines.map((l) => [l.attempt, l.n, l.message])).toStrictEqual([[1, 1, "attempt 1"], [2, 1, "attempt 2"]])
      // A reader resuming after a line (SSE Last-Event-ID) gets only the lines past it.
      const resumed = Chunk.toReadonlyArray(yield* Stream.runCollect(queue.logs(id, { follow: true, after: { attempt: 1, n: 1 } })))
      expect(resumed.map((l) => l.message)).toStrictEqual(["attempt 2"])
      const events = Chunk.toReadonlyArray(yield* Fiber.join(all))
      expect(events.map((e) => (e._tag === "StatusChanged" ? e.status : e._tag))).toStrictEqual(
        ["pending", "running", "Log", "retrying", "running", "Log", "failed"]
      )
    }).pipe(Effect.provide(kit())))

  it.effect("pause and resume a task, a type and the queue: order is kept after resume", () =>
    Effect.gen(function*() {
      reset()
      const queue = yield* TaskQueue
      // The queue: nothing starts while paused; afterwards priority order, FIFO within one.
      yield* queue.pause({ queue: true })
      const priorities = [0, 20, 10, 20, 0, 10]
      const ids = yield* queue.submitMany(priorities.map((priority, n) => ({
        definition: Step,
        payload: { n, ms: 10, group: "q" },
        options: { priority }
      })))
      yield* advance("1 second")
      expect(runs).toStrictEqual([])
      expect((yield* queue.health).reasons).toContain("the queue is paused")
      yield* queue.resume({ queue: true })
      yield* drain(ids, "2 seconds")
      expect(runs.map((r) => r.n)).toStrictEqual([1, 3, 2, 5, 0, 4])

      // A type: other types go on; the paused type's tasks run in order after resume.
      reset()
      yield* queue.pause({ type: "step" })
      const steps = yield* queue.submitMany([0, 1, 2].map((n) => ({ definition: Step, payload: { n, ms: 10, group: "t" } })))
      const limited = yield* queue.submit(Limited, { n: 9 })
      yield* drain([limited], "1 second")
      expect(runs.map((r) => r.n)).toStrictEqual([9])
      expect((yield* queue.stats).paused.types).toStrictEqual(["step"])
      yield* queue.resume({ type: "step" })
      yield* drain(steps, "1 second")
      expect(runs.map((r) => r.n)).toStrictEqual([9, 0, 1, 2])

      // A task: paused in the middle, it keeps its place and runs once resumed.
      reset()
      const [x, y, z] = yield* queue.submitMany([0, 1, 2].map((n) => ({ definition: Step, payload: { n, ms: 10, group: "k" } })))
      yield* queue.pause({ task: y! })
      yield* drain([x!, z!], "1 second")
      expect((yield* queue.get(y!)).status).toBe("paused")
      yield* queue.resume({ task: y! })
      yield* drain([y!], "1 second")
      expect(runs.map((r) => r.n)).toStrictEqual([0, 2, 1])
      expect((yield* Effect.flip(queue.pause({ type: "nope" })))._tag).toBe("UnknownTaskType")
    }).pipe(Effect.provide(kit({ fiberConcurrency: 1 }))))

  it.effect("a running task cannot be paused (InvalidTransition); pausing its type lets it finish", () =>
    Effect.gen(function*() {
      reset()
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Step, { n: 1, ms: 1000, group: "r" })
      yield* advance("100 millis")
      expect((yield* queue.get(id)).status).toBe("running")
      const error = yield* Effect.flip(queue.pause({ task: id }))
      expect(error._tag).toBe("InvalidTransition")
      expect(error.message).toContain("cannot pause while running")
      yield* queue.pause({ type: "step" })
      yield* drain([id], "2 seconds")
      expect((yield* queue.get(id)).status).toBe("completed")
    }).pipe(Effect.provide(kit())))

  it.effect("manual retry of a failed task, and delete (a running one only with force)", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const boom = yield* queue.submit(Boom, { n: 1 })
      yield* drain([boom], "1 second")
      expect((yield* queue.get(boom)).status).toBe("failed")
      yield* queue.retry(boom)
      yield* drain([boom], "1 second")
      const retried = yield* queue.get(boom)
      expect([retried.status, retried.attempt, retried.errors.length]).toStrictEqual(["failed", 1, 2])
      yield* queue.delete(boom)
      expect((yield* Effect.flip(queue.get(boom)))._tag).toBe("TaskNotFound")
      const slow = yield* queue.submit(Step, { n: 2, ms: 10_000, group: "d" }, { delay: "1 minute" })
      const refused = yield* Effect.flip(queue.delete(slow))
      expect(refused.message).toContain("force")
      yield* queue.delete(slow, { force: true })
      expect((yield* Effect.flip(queue.get(slow)))._tag).toBe("TaskNotFound")
    }).pipe(Effect.provide(kit())))
})

describe("Shutdown", () => {
  it.effect("running tasks finish within shutdownTimeout; past it they are interrupted (and given back)", () =>
    Effect.gen(function*() {
      for (const [timeout, finishes] of [["30 seconds", true], ["2 seconds", false]] as const) {
        reset()
        const scope = yield* Scope.make()
        const ctx = yield* Layer.buildWithScope(kit({ shutdownTimeout: Duration.decode(timeout) }), scope)
        const queue = Context.get(ctx, TaskQueue)
        yield* queue.submit(Step, { n: 1, ms: 10_000, group: "s" })
        yield* advance("100 millis")
        expect(runs.length).toBe(1)
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* advance("15 seconds", "100 millis")
        yield* Fiber.join(closing)
        // Finished 10 s after it started, or interrupted at the 2 s deadline (end never recorded).
        expect(runs[0]!.end).toBe(finishes ? runs[0]!.start + 10_000 : -1)
      }
    }))
})

describe("Limits", () => {
  it.effect("at maxQueueSize, submit fails with QueueFull and nothing is lost", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      const ids = yield* queue.submitMany([1, 2, 3].map((n) => ({ definition: Step, payload: { n, ms: 10, group: "f" } })))
      const full = yield* Effect.flip(queue.submit(Step, { n: 4, ms: 10, group: "f" }))
      expect(full._tag).toBe("QueueFull")
      const many = yield* Effect.flip(queue.submitMany([5, 6].map((n) => ({ definition: Step, payload: { n, ms: 10, group: "f" } }))))
      expect(many._tag).toBe("QueueFull")
      expect((yield* queue.counts).pending).toBe(3)
      yield* queue.resume({ queue: true })
      yield* drain(ids, "1 second")
      expect((yield* queue.counts).completed).toBe(3)
      // Finished tasks do not count: there is room again.
      yield* queue.submit(Step, { n: 7, ms: 10, group: "f" })
    }).pipe(Effect.provide(kit({ maxQueueSize: 3 }))))

  it.effect("a per-type limit is never exceeded under load", () =>
    Effect.gen(function*() {
      reset()
      const queue = yield* TaskQueue
      const ids = yield* queue.submitMany([
        ...Array.from({ length: 30 }, (_, n) => ({ definition: Limited, payload: { n } })),
        ...Array.from({ length: 10 }, (_, n) => ({ definition: Step, payload: { n: 100 + n, ms: 100, group: "free" } }))
      ])
      yield* drain(ids, "5 seconds")
      expect(runs.length).toBe(40)
      expect(maxRunning.get("limited")).toBe(2)
      // The limited type did not hold the others back.
      expect(maxRunning.get("free")!).toBeGreaterThan(2)
    }).pipe(Effect.provide(kit({ fiberConcurrency: 10 }))))

  it.effect("retention purges finished tasks once they are older than the period", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const done = yield* queue.submit(Step, { n: 1, ms: 10, group: "r" })
      yield* drain([done], "1 second")
      const waiting = yield* queue.submit(Step, { n: 2, ms: 10, group: "r" }, { delay: "3 hours" })
      yield* TestClock.adjust("59 minutes")
      expect((yield* queue.get(done)).status).toBe("completed")
      yield* TestClock.adjust("2 minutes")
      yield* Effect.yieldNow()
      expect((yield* Effect.flip(queue.get(done)))._tag).toBe("TaskNotFound")
      expect((yield* queue.get(waiting)).status).toBe("delayed")
    }).pipe(Effect.provide(kit({
      retention: Duration.hours(1),
      // Long periods for the other loops, so that jumping TestClock by an hour stays cheap.
      pollInterval: Duration.minutes(10),
      progressFlush: Duration.minutes(10),
      leaseDuration: Duration.hours(1)
    }))))

  it.effect("idempotency: a duplicate submit returns the same id", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const first = yield* queue.submit(Step, { n: 1, ms: 10, group: "i" }, { idempotencyKey: "order-42" })
      const second = yield* queue.submit(Step, { n: 2, ms: 10, group: "i" }, { idempotencyKey: "order-42" })
      expect(second).toBe(first)
      expect((yield* queue.list({ limit: 10 })).length).toBe(1)
    }).pipe(Effect.provide(kit())))
})

describe("Actor keys", () => {
  it.effect("cancelling a running task of a key: the key's next task waits until the attempt has stopped", () =>
    Effect.gen(function*() {
      reset()
      const queue = yield* TaskQueue
      const [first, second] = yield* queue.submitMany([
        { definition: SlowStop, payload: { n: 1 }, options: { key: "K" } },
        { definition: Step, payload: { n: 2, ms: 10, group: "K" }, options: { key: "K" } }
      ])
      yield* advance("100 millis")
      yield* queue.cancel(first!)
      yield* drain([second!], "2 seconds")
      expect(stoppedAt.get(1)).toBeDefined()
      expect(runs.find((r) => r.n === 2)!.start).toBeGreaterThanOrEqual(stoppedAt.get(1)!)
    }).pipe(Effect.provide(kit())))

  it.effect("a manual retry waits for a dependency that did not complete", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.submitMany([
        { definition: Boom, payload: { n: 1 }, options: { id: "dep" } },
        { definition: Step, payload: { n: 2, ms: 10, group: "r" }, options: { id: "child", dependsOn: ["dep"] } }
      ])
      yield* advance("500 millis")
      expect((yield* queue.get(tid("child"))).status).toBe("failed")
      const refused = yield* Effect.flip(queue.retry(tid("child")))
      expect(refused.message).toContain("depends on dep, which is failed; retry that first")
    }).pipe(Effect.provide(kit())))

  it.effect("tasks with one key never overlap and run in submission order; different keys run in parallel", () =>
    Effect.gen(function*() {
      reset()
      const queue = yield* TaskQueue
      const keys = ["a", "b", "c"]
      // Interleaved submits, some priorities high: priority picks among keys, never within one.
      const ids = yield* queue.submitMany(Array.from({ length: 30 }, (_, n) => ({
        definition: Step,
        payload: { n, ms: 50 + (n % 4) * 25, group: keys[n % 3]! },
        options: { key: keys[n % 3]!, priority: n % 5 === 0 ? ("high" as const) : ("normal" as const) }
      })))
      yield* drain(ids, "10 seconds")
      expect(runs.length).toBe(30)
      for (const key of keys) {
        expect(maxRunning.get(key)).toBe(1)
        const mine = runs.filter((r) => r.key === key)
        expect(mine.map((r) => r.n)).toStrictEqual([...mine.map((r) => r.n)].sort((a, b) => a - b))
      }
      // Different keys overlapped.
      const overlaps = runs.some((r) => runs.some((o) => o.key !== r.key && o.start < r.end && r.start < o.end))
      expect(overlaps).toBe(true)
    }).pipe(Effect.provide(kit())))
})

describe("Health", () => {
  it.effect("moves between levels as failures, waiting work and pauses come and go", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      expect((yield* queue.health).level).toBe("healthy")
      const booms = yield* queue.submitMany(Array.from({ length: 10 }, (_, n) => ({ definition: Boom, payload: { n } })))
      yield* drain(booms, "1 second")
      const sick = yield* queue.health
      expect(sick.level).toBe("critical")
      expect(sick.reasons.join("; ")).toContain("failure rate 100.0%")
      // The failures leave the one-minute stats window.
      yield* advance("61 seconds", "1 second")
      expect((yield* queue.health).level).toBe("healthy")
      // Work that waits (its one executor slot is held by a long task): a warning after a
      // minute, critical after five. (A pause is asked for, so it does not count.)
      const hog = yield* queue.submit(Step, { n: 0, ms: 3_600_000, group: "h" })
      yield* advance("100 millis")
      const stuck = yield* queue.submit(Step, { n: 1, ms: 10, group: "h" })
      yield* advance("61 seconds", "1 second")
      const waiting = yield* queue.health
      expect(waiting.level).toBe("warning")
      expect(waiting.reasons.join("; ")).toContain("oldest ready task has waited")
      yield* advance("4 minutes", "10 seconds")
      expect((yield* queue.health).level).toBe("critical")
      yield* queue.pause({ type: "step" })
      expect((yield* queue.health).level).toBe("healthy")
      yield* queue.resume({ type: "step" })
      yield* queue.cancel(hog)
      yield* drain([stuck], "1 second")
      expect((yield* queue.health).level).toBe("healthy")
      const stats = yield* queue.stats
      expect(stats.counts.byStatus.completed).toBe(1)
      expect(stats.counts.byType["boom"]).toStrictEqual({ failed: 10 })
      expect(stats.throughput.completed).toBe(1)
      expect(stats.waitMs.p95).toBeGreaterThanOrEqual(300_000)
    }).pipe(Effect.provide(kit({ fiberConcurrency: 1 }))))
})
