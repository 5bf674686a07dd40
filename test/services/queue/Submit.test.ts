import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import type { NewTask } from "../../../src/domain/Task.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { advance } from "../../support/clock.js"
import { spiedRuntime } from "../../support/runtime.js"

const Job = TaskDefinition.make("job", { payload: Schema.Struct({ n: Schema.Number }), execution: "fiber" })
const handlers = Handlers.make(Job.handler(() => Effect.void))

/** A runtime whose store counts the insert calls, each with its number of tasks. */
const counted = (maxQueueSize = 0) => {
  const inserts: Array<number> = []
  const runtime = spiedRuntime(handlers, (store) => ({
    ...store,
    insert: (tasks: ReadonlyArray<NewTask>, options?: { readonly maxActive?: number }) =>
      Effect.zipRight(Effect.sync(() => inserts.push(tasks.length)), store.insert(tasks, options))
  }), { maxQueueSize })
  return { inserts, runtime }
}

describe("submit", () => {
  it.effect("submits made at the same moment share inserts; each gets its own task, and one idempotency key one task", () => {
    const { inserts, runtime } = counted()
    return Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      const ids = yield* Effect.forEach(Array.from({ length: 200 }, (_, n) => n), (n) => queue.submit(Job, { n }), { concurrency: "unbounded" })
      expect(new Set(ids).size).toBe(200)
      expect(inserts.reduce((a, b) => a + b, 0)).toBe(200)
      expect(inserts.length).toBeLessThan(20)
      const same = yield* Effect.forEach([1, 2, 3], (n) => queue.submit(Job, { n }, { idempotencyKey: "once" }), { concurrency: "unbounded" })
      expect(new Set(same).size).toBe(1)
      const counts = yield* queue.counts
      expect(counts.pending).toBe(201)
    }).pipe(Effect.provide(runtime))
  })

  it.effect("with a queue limit, each submit stores alone: one that finds the queue full fails alone", () => {
    const { inserts, runtime } = counted(3)
    return Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      const outcomes = yield* Effect.forEach(Array.from({ length: 5 }, (_, n) => n), (n) => Effect.either(queue.submit(Job, { n })), { concurrency: "unbounded" })
      expect(outcomes.filter((o) => o._tag === "Right").length).toBe(3)
      expect(outcomes.filter((o) => o._tag === "Left").map((o) => o._tag === "Left" ? o.left._tag : "")).toStrictEqual(["QueueFull", "QueueFull"])
      expect(inserts).toStrictEqual([1, 1, 1, 1, 1])
    }).pipe(Effect.provide(runtime))
  })

  it.effect("a submit interrupted while its insert runs leaves nothing stuck: the next submit stores at once", () => {
    let calls = 0
    const runtime = spiedRuntime(handlers, (store) => ({
      ...store,
      // The first insert never ends (a stuck disk, say); the caller gives up on it.
      insert: (tasks: ReadonlyArray<NewTask>, options?: { readonly maxActive?: number }) =>
        ++calls === 1 ? Effect.never : store.insert(tasks, options)
    }))
    return Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      const stuck = yield* Effect.fork(queue.submit(Job, { n: 1 }))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(stuck)
      // Not waiting behind the stuck one: it is stored within a few turns of the other fibers.
      const next = yield* Effect.fork(queue.submit(Job, { n: 2 }))
      yield* advance("1 second", "10 millis")
      const stored = yield* Fiber.poll(next)
      expect(stored._tag).toBe("Some")
      const id = yield* Fiber.join(next)
      expect((yield* queue.get(id)).status).toBe("pending")
    }).pipe(Effect.provide(runtime))
  })
})
