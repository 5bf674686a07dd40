import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
// Results along dependencies as a user meets them: a handler reads what the tasks it depends on
// returned, typed by their definitions — on real worker threads (the handlers module compiled
// by the build) and in-process.
import * as TaskDefinition from "../../dist/src/domain/TaskDefinition.js"
import * as TroupeTest from "../../dist/src/runtime/TroupeTest.js"
import { TaskQueue } from "../../dist/src/services/queue/TaskQueue.js"
import * as Handlers from "../../dist/src/workers/Handlers.js"
import handlers, { Total, Words } from "../../dist/test/fixtures/handlers.js"

const handlersModule = fileURLToPath(new URL("../../dist/test/fixtures/handlers.js", import.meta.url))

const texts = ["the quick brown fox", "jumps over", "the lazy dog", ""]

const mapReduce = Effect.gen(function*() {
  const queue = yield* TaskQueue
  const maps = yield* queue.submitMany(texts.map((text) => ({ definition: Words, payload: { text } })))
  const total = yield* queue.submit(Total, { first: maps[0]! }, { dependsOn: maps })
  return yield* queue.await(Total, total)
})

describe("results along dependencies", () => {
  it.effect("map → reduce on worker threads: the reduce reads every map's typed result, in dependsOn order", () =>
    Effect.gen(function*() {
      expect(yield* mapReduce).toStrictEqual({ words: 9, first: 4, on: "thread" })
    }).pipe(Effect.provide(TroupeTest.layer(handlers, {}, { threads: { handlersModule } }))), 60_000)

  it.effect("map → reduce in-process", () =>
    Effect.gen(function*() {
      expect(yield* mapReduce).toStrictEqual({ words: 9, first: 4, on: "main" })
    }).pipe(Effect.provide(TroupeTest.layer(handlers))))

  const Part = TaskDefinition.make("part", {
    payload: Schema.Struct({ n: Schema.Int }),
    success: Schema.Int,
    failure: Schema.String,
    retry: { maxAttempts: 1 },
    execution: "fiber"
  })
  const Sum = TaskDefinition.make("sum", { payload: Schema.Struct({}), success: Schema.Int, execution: "fiber" })
  const Misuse = TaskDefinition.make("misuse", { payload: Schema.Struct({ other: Schema.String }), success: Schema.Int, execution: "fiber" })
  const runs = { sum: 0 }
  const own = Handlers.make(
    Part.handler(({ n }) => (n < 0 ? Effect.fail(`part ${n} refused`) : Effect.succeed(n))),
    Sum.handler((_, ctx) =>
      Effect.map(ctx.dependencies(Part), (parts) => {
        runs.sum++
        return parts.reduce((a, b) => a + b, 0)
      })),
    Misuse.handler(({ other }, ctx) => ctx.dependency(Part, other as never))
  )

  it.effect("a failed dependency's result never reaches its dependent: the dependent fails with DependencyFailed, its handler never runs", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const parts = yield* queue.submitMany([1, -2, 3].map((n) => ({ definition: Part, payload: { n } })))
      const sum = yield* queue.submit(Sum, {}, { dependsOn: parts })
      const error = yield* Effect.flip(queue.await(Sum, sum))
      expect(error._tag).toBe("TaskFailed")
      expect(error._tag === "TaskFailed" ? error.errors.map((e) => e.error._tag) : []).toStrictEqual(["DependencyFailed"])
      expect(runs.sum).toBe(0)
      // With every part completed, it runs and reads them all.
      const good = yield* queue.submitMany([1, 2, 3].map((n) => ({ definition: Part, payload: { n } })))
      expect(yield* queue.await(Sum, yield* queue.submit(Sum, {}, { dependsOn: good }))).toBe(6)
      expect(runs.sum).toBe(1)
    }).pipe(Effect.provide(TroupeTest.layer(own))))

  it.effect("asking for a task that is not a dependency fails the attempt, naming the dependencies there are", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const [part] = yield* queue.submitMany([{ definition: Part, payload: { n: 1 }, options: { id: "part-1" } }])
      const misuse = yield* queue.submit(Misuse, { other: "elsewhere" }, { dependsOn: [part!], retry: { maxAttempts: 1 } })
      const error = yield* Effect.flip(queue.await(Misuse, misuse))
      expect(error._tag === "TaskFailed" ? error.errors.map((e) => e.error._tag) : []).toStrictEqual(["TaskDefect"])
      expect(error.message).toContain("ctx.dependency(part, elsewhere): not one of its dependencies of type part (its dependencies: part-1 (part))")
    }).pipe(Effect.provide(TroupeTest.layer(own))))
})
