import { expect, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type * as Activity from "../../../src/domain/Activity.js"
import type { ActivitySink } from "../../../src/services/pool/Executor.js"
import * as WorkerPool from "../../../src/services/pool/WorkerPool.js"
import { attempt, tags } from "../../fixtures/claimed.js"

// Cancel, the watchdog and the activity channel on real worker threads (compiled entry and
// fixture: `npm run build` first). One thread, so concurrent requests share it.
const entry = new URL("../../../dist/src/workers/main.js", import.meta.url)
const handlersModule = fileURLToPath(new URL("../../../dist/test/fixtures/handlers.js", import.meta.url))

const task = attempt

/** Everything the pool delivered, and waiters for items not seen yet. */
const received: Array<Activity.Activity> = []
const watchers: Array<{ readonly match: (item: Activity.Activity) => boolean; readonly latch: Deferred.Deferred<void> }> = []
const sink: ActivitySink = (items) =>
  Effect.sync(() => {
    received.push(...items)
    for (const w of watchers) if (items.some(w.match)) Deferred.unsafeDone(w.latch, Exit.void)
  })
/** Waits until the sink has received a matching item. */
const seen = (match: (item: Activity.Activity) => boolean) =>
  Effect.suspend(() => {
    if (received.some(match)) return Effect.void
    const latch = Deferred.unsafeMake<void>(FiberId.none)
    watchers.push({ match, latch })
    return Deferred.await(latch)
  })
const linesOf = (id: string) =>
  received.flatMap((item) => item.taskId === id && item._tag === "Log" ? [`${item.n}:${item.message}`] : [])

const poolLayer = WorkerPool.layer({ handlersModule, size: 1, heapLimitMb: 64, entry, graceMs: 300, onActivity: sink })

layer(poolLayer, { timeout: 60_000, excludeTestServices: true })("WorkerPool lifecycle control", (it) => {
  it.effect("cancelling a running task runs its finalizer in the thread; the same thread goes on", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-cancel-"))
      const replacedBefore = yield* pool.replaced
      const [statsBefore] = yield* pool.workers
      const waiting = task("wait", { dir })
      const after = task("echo", { n: 1 })
      const fiber = yield* Effect.fork(pool.run([waiting, after]))
      yield* seen((item) => item.taskId === waiting.id && item._tag === "Log" && item.message === "waiting")
      const [busy] = yield* pool.workers
      expect(busy?.state).toBe("busy")
      expect(busy?.currentTask).toBe(waiting.id)
      expect(busy?.lastSeenAt).not.toBeNull()

      yield* pool.interrupt([waiting.id])
      const { outcomes } = yield* Fiber.join(fiber)
      expect(tags(outcomes)).toStrictEqual(["TaskDefect:interrupted", "Succeeded"])
      expect(fs.existsSync(path.join(dir, `${waiting.id}.finalized`))).toBe(true)
      // The finalizer's line was delivered before the outcome came back.
      expect(linesOf(waiting.id)).toStrictEqual(["1:waiting", "2:finalizer ran"])
      expect(yield* pool.replaced).toBe(replacedBefore)
      const [idle] = yield* pool.workers
      expect(idle?.generation).toBe(statsBefore?.generation)
      expect(idle?.state).toBe("idle")
      expect(idle?.currentTask).toBeNull()
      expect(idle?.tasksDone).toBe((statsBefore?.tasksDone ?? 0) + 2)
      fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.effect("a yielding task over its timeout is interrupted inside the thread (finalizer runs) and the batch goes on", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-timeout-"))
      const replacedBefore = yield* pool.replaced
      const slow = task("wait", { dir }, 200)
      const { outcomes } = yield* pool.run([slow, task("echo", { n: 5 })])
      expect(tags(outcomes)).toStrictEqual(["TaskTimeout", "Succeeded"])
      const timeout = outcomes[0]
      expect(timeout?._tag === "Failed" && timeout.error.message).toContain("200 ms timeout and was interrupted")
      expect(fs.existsSync(path.join(dir, `${slow.id}.finalized`))).toBe(true)
      expect(linesOf(slow.id)).toStrictEqual(["1:waiting", "2:finalizer ran"])
      expect(yield* pool.replaced).toBe(replacedBefore)
      fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.effect("a task that never yields is killed past timeout + grace: TaskTimeout, the rest of its batch Abandoned, thread replaced", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      const replacedBefore = yield* pool.replaced
      const [statsBefore] = yield* pool.workers
      const blocked = task("block", {}, 300)
      const [culprit, bystander] = yield* Effect.all([
        pool.run([task("echo", { n: 1 }), blocked, task("echo", { n: 2 })]),
        pool.run([task("echo", { n: 3 })])
      ], { concurrency: "unbounded" })
      expect(tags(culprit.outcomes)).toStrictEqual(["Abandoned", "TaskTimeout", "Abandoned"])
      const timeout = culprit.outcomes[1]
      expect(timeout?._tag === "Failed" && timeout.error._tag === "TaskTimeout" && timeout.error.timeoutMs).toBe(300)
      expect(timeout?._tag === "Failed" && timeout.error.message).toContain("grace period")
      // A request never waits on a busy thread: the second one waited for a thread and ran on
      // the replacement.
      expect(tags(bystander.outcomes)).toStrictEqual(["Succeeded"])

      yield* pool.whenFull
      expect(yield* pool.size).toBe(1)
      expect(yield* pool.replaced).toBe(replacedBefore + 1)
      const [{ outcomes }] = [yield* pool.run([task("echo", { n: 4 })])]
      expect(outcomes.map((o) => o._tag === "Succeeded" ? o.result : o._tag)).toStrictEqual([{ n: 4 }])
      const [after] = yield* pool.workers
      expect(after?.generation).toBe((statsBefore?.generation ?? 0) + 1)
    }))

  it.effect("progress and log lines from a thread reach onActivity in order, before the outcome", () =>
    Effect.gen(function*() {
      const pool = yield* WorkerPool.WorkerPool
      const chatter = task("chatter", { lines: 600 })
      const { outcomes } = yield* pool.run([chatter])
      expect(tags(outcomes)).toStrictEqual(["Succeeded"])
      expect(linesOf(chatter.id)).toStrictEqual(Array.from({ length: 600 }, (_, i) => `${i + 1}:line ${i + 1}`))
      const progress = received.flatMap((item) => item.taskId === chatter.id && item._tag === "Progress" ? [item.percent] : [])
      expect(progress.length).toBeGreaterThan(0)
      expect(progress.length).toBeLessThan(600)
      expect(progress.every((p, i) => i === 0 || p >= progress[i - 1]!)).toBe(true)
      expect(progress[progress.length - 1]).toBe(100)
    }))
})
