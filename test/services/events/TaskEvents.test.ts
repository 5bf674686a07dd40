import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Chunk from "effect/Chunk"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TaskId from "../../../src/domain/TaskId.js"
import { TaskEvents } from "../../../src/services/events/TaskEvents.js"
import * as TaskEventsModule from "../../../src/services/events/TaskEvents.js"

const id = TaskId.unsafeMake("t1")
const ended = { _tag: "StatusChanged" as const, id, type: "x", status: "completed" as const, at: 0 }
const notYet = Effect.void

describe("TaskEvents waiters", () => {
  it.effect("the awaits of one task share one entry: one that is interrupted leaves, the others still hear the end", () =>
    Effect.gen(function*() {
      const events = yield* TaskEvents
      const a = yield* Effect.fork(events.awaitFinal(id, notYet))
      const b = yield* Effect.fork(events.awaitFinal(id, notYet))
      yield* Effect.yieldNow()
      expect(yield* events.interest).toEqual([id])
      yield* Fiber.interrupt(a)
      expect(yield* events.interest).toEqual([id])
      yield* events.publish([ended])
      yield* Fiber.join(b)
      expect(yield* events.interest).toEqual([])
    }).pipe(Effect.provide(TaskEventsModule.layer)))

  it.effect("a check that finds the task ended resolves the wait at once; one that finds it missing fails it with TaskNotFound; no interest is left", () =>
    Effect.gen(function*() {
      const events = yield* TaskEvents
      yield* events.awaitFinal(id, events.settle([ended]))
      expect(yield* events.interest).toEqual([])
      const missing = yield* Effect.flip(events.awaitFinal(id, events.missing([id])))
      expect(missing._tag).toBe("TaskNotFound")
      expect(yield* events.interest).toEqual([])
      const c = yield* Effect.fork(events.awaitFinal(id, notYet))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(c)
      expect(yield* events.interest).toEqual([])
    }).pipe(Effect.provide(TaskEventsModule.layer)))
})

describe("TaskEvents subscribers", () => {
  const running = { ...ended, status: "running" as const }
  it.scoped("a subscriber or watcher that falls behind is let go with EventsOverflow after what it had; the others hear everything", () =>
    Effect.gen(function*() {
      const events = yield* TaskEventsModule.make({ subscriber: 2, watcher: 2 })
      const slow = yield* events.subscribe
      const slowWatcher = yield* events.subscribeTask(id)
      const keeping = yield* events.subscribe
      const heard: Array<ReadonlyArray<unknown>> = []
      for (let i = 0; i < 4; i++) {
        yield* events.publish([running])
        heard.push(...Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(keeping, 1))))
      }
      expect(heard).toHaveLength(4)
      const got: Array<unknown> = []
      const end = yield* Stream.runForEach(slow, (d) => Effect.sync(() => got.push(d))).pipe(Effect.flip)
      expect(got).toHaveLength(2)
      expect(end.message).toMatch(/fell 2 deliveries behind.*subscribe again/)
      const watched: Array<unknown> = []
      const watcherEnd = yield* Stream.runForEach(slowWatcher, (e) => Effect.sync(() => watched.push(e))).pipe(Effect.flip)
      expect(watched).toHaveLength(2)
      expect(watcherEnd._tag).toBe("EventsOverflow")
    }))
})
