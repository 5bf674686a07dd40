import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import { compose, fiberExecutors } from "../../../src/runtime/compose.js"
import * as Telemetry from "../../../src/runtime/Telemetry.js"
import * as TroupeConfig from "../../../src/runtime/TroupeConfig.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import * as SystemMetrics from "../../../src/services/resources/SystemMetrics.js"
import * as TaskStoreSqlite from "../../../src/services/store/TaskStoreSqlite.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { advance } from "../../support/clock.js"

// Progress is stored every `progressFlush` while a task runs, coalesced; a task that ends
// between two flushes still ends with its last report stored (`submit --wait` and `status`
// show it), not the one of the last flush or none.

class Broken extends Schema.TaggedError<Broken>()("Broken", { message: Schema.String }) {}
const Steps = TaskDefinition.make("steps", { payload: Schema.Struct({ fail: Schema.Boolean }), failure: Broken, execution: "fiber", retry: { maxAttempts: 1 } })
const handlers = Handlers.make(Steps.handler(({ fail }, ctx) =>
  Effect.gen(function*() {
    for (const k of [1, 2, 3]) {
      yield* ctx.progress(k * 30, `step ${k} of 3`)
      yield* Effect.sleep("100 millis")
    }
    if (fail) return yield* new Broken({ message: "after step 3" })
  })))

const runtime = Layer.suspend(() => {
  // Flushes far apart: without the flush at the end, the last report would be lost.
  const config = { ...TroupeConfig.defaults, gpu: 0, shutdownTimeout: Duration.zero, database: ":memory:", progressFlush: Duration.hours(1) }
  return compose(config, handlers, Layer.orDie(TaskStoreSqlite.layerMemory), fiberExecutors(config, handlers), SystemMetrics.layerScripted([{}]), Telemetry.layerOff)
})

describe("progress when a task ends", () => {
  it.effect("a completed task holds its last description (progress 100); a failed one its last report", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const done = yield* queue.submit(Steps, { fail: false })
      const broken = yield* queue.submit(Steps, { fail: true })
      yield* advance("1 second")
      expect(yield* queue.get(done)).toMatchObject({ status: "completed", progress: 100, description: "step 3 of 3" })
      expect(yield* queue.get(broken)).toMatchObject({ status: "failed", progress: 90, description: "step 3 of 3" })
    }).pipe(Effect.provide(runtime)))
})
