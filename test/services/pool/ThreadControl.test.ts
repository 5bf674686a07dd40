import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
// The whole runtime, compiled (npm test builds first) so worker threads find their entry:
// a real SQLite file and real worker threads, driven through TaskQueue.
import * as Troupe from "../../../dist/src/runtime/Troupe.js"
import { TaskQueue } from "../../../dist/src/services/queue/TaskQueue.js"
import { truncationMarker } from "../../../dist/src/services/store/TaskStore.js"
import { ResourceGovernor } from "../../../dist/src/services/resources/ResourceGovernor.js"
import { Block, Chatter, Echo, Exit, Wait } from "../../../dist/test/fixtures/handlers.js"

const handlersModule = fileURLToPath(new URL("../../../dist/test/fixtures/handlers.js", import.meta.url))
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "troupe-control-"))

/** Waits (through `watch`) until the task is running. */
const untilRunning = (id: Parameters<TaskQueue["Type"]["watch"]>[0]) =>
  Effect.flatMap(TaskQueue, (queue) =>
    Stream.runDrain(queue.watch(id).pipe(Stream.takeUntil((e) => e._tag === "StatusChanged" && e.status === "running"))))

// One thread, so "the thread serves the next task" is about the same thread.
const runtime = (dir: string) =>
  Troupe.layer({ database: path.join(dir, "tasks.db"), handlersModule, workers: 1, interruptGrace: "300 millis", logCap: 10 })

describe("lifecycle control on worker threads", () => {
  const dir = tempDir()

  it.live("cancelling a running task interrupts it in its thread (finalizer runs), it ends cancelled, the thread serves the next task", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Wait, { dir })
      yield* untilRunning(id)
      yield* queue.cancel(id)
      expect((yield* Effect.flip(queue.await(Wait, id)))._tag).toBe("TaskCancelled")
      const task = yield* queue.get(id)
      expect([task.status, task.errors.length]).toStrictEqual(["cancelled", 0])
      // The finalizer ran inside the thread: it dropped its marker file.
      const marker = path.join(dir, `${id}.finalized`)
      yield* Effect.repeat(Effect.sync(() => fs.existsSync(marker)), { schedule: Schedule.spaced("2 millis"), until: (exists) => exists })
      const next = yield* queue.submit(Echo, { n: 7 })
      expect(yield* queue.await(Echo, next)).toStrictEqual({ n: 7 })
      // Still the first thread: a cancel that yields does not cost the thread.
      const { workers } = (yield* queue.stats)
      expect(workers.map((w) => w.generation)).toStrictEqual([0])
    }).pipe(Effect.provide(runtime(dir))), 60_000)

  it.live("a synchronous infinite loop is killed by its timeout, fails with TaskTimeout, and the pool recovers", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Block, {}, { timeout: "300 millis", retry: { maxAttempts: 1 } })
      const error = yield* Effect.flip(queue.await(Block, id))
      expect(error._tag).toBe("TaskFailed")
      const task = yield* queue.get(id)
      expect(task.errors.map((e) => e.error._tag)).toStrictEqual(["TaskTimeout"])
      const next = yield* queue.submit(Echo, { n: 8 })
      expect(yield* queue.await(Echo, next)).toStrictEqual({ n: 8 })
      const { workers } = yield* queue.stats
      expect(workers.map((w) => w.generation)).toStrictEqual([1])
      expect((yield* queue.health).level).not.toBe("offline")
    }).pipe(Effect.provide(runtime(tempDir()))), 60_000)

  it.live("progress and log lines from a thread reach a watch subscriber in order; the log cap truncates with a marker", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      const id = yield* queue.submit(Chatter, { lines: 25 })
      // Subscribed (its snapshot arrived) before the task may start.
      const subscribed = yield* Deferred.make<void>()
      const watching = yield* Effect.fork(Stream.runCollect(queue.watch(id).pipe(Stream.tap(() => Deferred.succeed(subscribed, undefined)))))
      yield* Deferred.await(subscribed)
      yield* queue.resume({ queue: true })
      const events = Chunk.toReadonlyArray(yield* Fiber.join(watching))
      const statuses = events.flatMap((e) => (e._tag === "StatusChanged" ? [e.status] : []))
      expect(statuses).toStrictEqual(["pending", "running", "completed"])
      const logs = events.flatMap((e) => (e._tag === "Log" ? [e.message] : []))
      expect(logs).toStrictEqual([...Array.from({ length: 10 }, (_, i) => `line ${i + 1}`), truncationMarker(10)])
      const progress = events.flatMap((e) => (e._tag === "Progress" ? [e.percent] : []))
      expect(progress.length).toBeGreaterThan(0)
      expect([...progress].sort((a, b) => a - b)).toStrictEqual(progress)
      expect(progress[progress.length - 1]).toBe(100)
      // Every line before the final status, and the same lines in the store.
      const lastLog = Math.max(...events.map((e, i) => (e._tag === "Log" ? i : -1)))
      const completed = events.findIndex((e) => e._tag === "StatusChanged" && e.status === "completed")
      expect(lastLog).toBeLessThan(completed)
      const stored = Chunk.toReadonlyArray(yield* Stream.runCollect(queue.logs(id)))
      expect(stored.map((l) => l.message)).toStrictEqual(logs)
    }).pipe(Effect.provide(runtime(tempDir()))), 60_000)

  it.live("resource permits come back after a thread crash, a cancel and a timeout kill", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const governor = yield* ResourceGovernor
      const capacity = yield* governor.available
      const dir = tempDir()
      const crash = yield* queue.submit(Exit, { n: 1 }, { resources: { memoryMb: 300 } })
      const wait = yield* queue.submit(Wait, { dir }, { resources: { memoryMb: 200, cpu: 1 } })
      const block = yield* queue.submit(Block, {}, { resources: { cpu: 1 }, timeout: "300 millis", retry: { maxAttempts: 1 } })
      expect(yield* queue.await(Exit, crash)).toBe(2)
      yield* untilRunning(wait)
      yield* queue.cancel(wait)
      yield* Effect.flip(queue.await(Block, block))
      yield* Effect.flip(queue.await(Wait, wait))
      // Permits are released as the batches end; the last may trail the final status a moment.
      const after = yield* governor.available.pipe(
        Effect.delay("20 millis"),
        Effect.repeat({ until: (a) => a.cpu === capacity.cpu && a.memoryMb === capacity.memoryMb })
      )
      expect(after).toStrictEqual(capacity)
    }).pipe(Effect.provide(Troupe.layer({
      database: path.join(tempDir(), "tasks.db"),
      handlersModule,
      workers: 2,
      interruptGrace: "300 millis",
      cpu: 2,
      memoryMb: 1000,
      gpu: 0
    }))), 60_000)
})
