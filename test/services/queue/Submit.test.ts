import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import type { NewTask } from "../../../src/domain/Task.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import * as Handlers from "../../../src/workers/Handlers.js"
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
})
