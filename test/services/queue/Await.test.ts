import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import { TaskStore } from "../../../src/services/store/TaskStore.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { spiedRuntime } from "../../support/runtime.js"
import { advance } from "../../support/clock.js"
import { newTask } from "../store/TaskStoreSuite.js"

// Tasks another process runs (claimed under a foreign lease and completed straight in the
// store): this process only hears of their end through its one poller.
const Remote = TaskDefinition.make("remote", { payload: Schema.Struct({ n: Schema.Number }), success: Schema.Number, execution: "fiber" })
const Local = TaskDefinition.make("local", { payload: Schema.Struct({}), execution: "fiber" })
const Sum = TaskDefinition.make("sum", {
  payload: Schema.Struct({ xs: Schema.Array(Schema.Number) }),
  success: Schema.Struct({ total: Schema.Number, at: Schema.optionalWith(Schema.Number, { exact: true }) }),
  execution: "fiber"
})
const handlers = Handlers.make(
  Local.handler(() => Effect.void),
  Sum.handler(({ xs }) => Effect.succeed({ total: xs.reduce((a, b) => a + b, 0) }))
)

/** The store (SQLite in memory), counting the reads `await` and `watch` make. */
const counted = () => {
  const reads = { get: 0, endsAmong: 0 }
  const runtime = spiedRuntime(handlers, (store) => ({
    ...store,
    get: (id: TaskId.TaskId) => Effect.zipRight(Effect.sync(() => reads.get++), store.get(id)),
    endsAmong: (ids: ReadonlyArray<TaskId.TaskId>) => Effect.zipRight(Effect.sync(() => reads.endsAmong++), store.endsAmong(ids))
  }), { pollInterval: Duration.seconds(1) })
  return { reads, runtime }
}

describe("await and watch", () => {
  it.effect("many awaits of tasks another process runs share their store reads: one for the burst of awaits, then one per poll interval", () => {
    const { reads, runtime } = counted()
    return Effect.gen(function*() {
      const store = yield* TaskStore
      const queue = yield* TaskQueue
      const n = 500
      const ids = Array.from({ length: n }, (_, i) => TaskId.unsafeMake(`task-${i}`))
      yield* store.insert(ids.map((_, i) => newTask(i, { type: "remote", payload: { n: i }, runAt: 0, rank: 0, createdAt: 0 })))
      yield* store.claim(ids, { owner: "elsewhere", token: "t", expiresAt: 600_000, now: 0 })
      const awaiting = yield* Effect.fork(Effect.forEach(ids, (id) => queue.await(Remote, id), { concurrency: "unbounded" }))
      const watching = yield* Effect.fork(Stream.runCollect(queue.watch(ids[0]!)))
      yield* advance("10 seconds", "1 second")
      // No await read its task alone (the watch read its snapshot); the burst of awaits was
      // checked in a shared read or two, then one read per interval for all of them.
      expect(reads.get).toBe(1)
      expect(reads.endsAmong).toBeLessThanOrEqual(13)
      yield* store.complete(ids.map((id, i) => ({ id, token: "t", result: i })), 10_000)
      yield* advance("1 second", "1 second")
      expect(yield* Fiber.join(awaiting)).toStrictEqual(ids.map((_, i) => i))
      const events = Chunk.toReadonlyArray(yield* Fiber.join(watching))
      expect(events.map((e) => (e._tag === "StatusChanged" ? e.status : e._tag))).toStrictEqual(["running", "completed"])
      // One read per await, for its result.
      expect(reads.get).toBe(n + 1)
    }).pipe(Effect.provide(runtime))
  })

  it.effect("an await of a task that ended before it returns at once; of a task that does not exist, fails with TaskNotFound", () => {
    const { runtime } = counted()
    return Effect.gen(function*() {
      const store = yield* TaskStore
      const queue = yield* TaskQueue
      const id = TaskId.unsafeMake("done-elsewhere")
      yield* store.insert([newTask(0, { id, type: "remote", payload: { n: 1 }, runAt: 0, rank: 0, createdAt: 0 })])
      yield* store.claim([id], { owner: "elsewhere", token: "t", expiresAt: 600_000, now: 0 })
      yield* store.complete([{ id, token: "t", result: 42 }], 0)
      // No clock advance: the shared check, not the interval, finds both.
      expect(yield* queue.await(Remote, id)).toBe(42)
      const missing = yield* Effect.flip(queue.await(Remote, TaskId.unsafeMake("no-such-task")))
      expect(missing._tag).toBe("TaskNotFound")
    }).pipe(Effect.provide(runtime))
  })

  it.effect("an await of a task this process ran gets its result with the completion: no store read, the same value a read would decode", () => {
    const { reads, runtime } = counted()
    return Effect.gen(function*() {
      const queue = yield* TaskQueue
      // Paused until both awaits wait, so both ends are heard, not read.
      yield* queue.pause({ queue: true })
      const ids = yield* Effect.forEach([[1, 2], [3, 4, 5]], (xs) => queue.submit(Sum, { xs }))
      const before = reads.get
      const awaiting = yield* Effect.fork(Effect.forEach(ids, (id) => queue.await(Sum, id), { concurrency: "unbounded" }))
      yield* advance("1 second", "100 millis")
      yield* queue.resume({ queue: true })
      yield* advance("1 second", "100 millis")
      expect(yield* Fiber.join(awaiting)).toStrictEqual([{ total: 3 }, { total: 12 }])
      expect(reads.get).toBe(before)
      // Awaited again once ended: read from the store, same value.
      expect(yield* queue.await(Sum, ids[0]!)).toStrictEqual({ total: 3 })
      expect(reads.get).toBe(before + 1)
    }).pipe(Effect.provide(runtime))
  })
})
