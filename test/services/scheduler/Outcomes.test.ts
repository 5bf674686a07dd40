import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import { StoreError } from "../../../src/domain/TaskErrors.js"
import { compose, fiberExecutors } from "../../../src/runtime/compose.js"
import * as TroupeConfig from "../../../src/runtime/TroupeConfig.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import * as SystemMetrics from "../../../src/services/resources/SystemMetrics.js"
import { TaskStore } from "../../../src/services/store/TaskStore.js"
import * as TaskStoreSqlite from "../../../src/services/store/TaskStoreSqlite.js"
import * as Telemetry from "../../../src/runtime/Telemetry.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { advance } from "../../support/clock.js"

// The store away for a moment (a restart, a failover, connections cut) when an attempt ends:
// its outcome is stored again, backing off, while its lease lasts; the work is not lost. And
// when it goes away as a claim commits: the claim may have taken effect though its answer was
// lost, so its tasks are given back rather than left running until their leases run out.

const Double = TaskDefinition.make("double", { payload: Schema.Struct({ n: Schema.Number }), success: Schema.Number, execution: "fiber" })
const handlers = Handlers.make(Double.handler(({ n }) => Effect.succeed(n * 2)))

/** The store (SQLite in memory), except that its first `failures` completes fail. */
const flakyStore = (failures: number) =>
  Layer.effect(TaskStore, Effect.map(TaskStore, (store) => {
    let left = failures
    return {
      ...store,
      complete: (items, now) =>
        Effect.suspend(() => (left-- > 0 ? Effect.fail(new StoreError({ message: "connection terminated" })) : store.complete(items, now)))
    } satisfies typeof TaskStore.Service
  })).pipe(Layer.provide(TaskStoreSqlite.layerMemory), Layer.orDie)

/** The store, except that its first claim commits and then fails as a cut connection would. */
const lostClaimAnswer = Layer.effect(TaskStore, Effect.map(TaskStore, (store) => {
  let left = 1
  return {
    ...store,
    claim: (ids, lease) =>
      Effect.flatMap(store.claim(ids, lease), (claimed) =>
        left-- > 0 ? Effect.fail(new StoreError({ message: "connection terminated" })) : Effect.succeed(claimed))
  } satisfies typeof TaskStore.Service
})).pipe(Layer.provide(TaskStoreSqlite.layerMemory), Layer.orDie)

const runtime = (failures: number, store = flakyStore(failures)) => {
  const config = { ...TroupeConfig.defaults, gpu: 0, shutdownTimeout: Duration.zero, database: ":memory:" }
  return compose(config, handlers, store, fiberExecutors(config, handlers), SystemMetrics.layerScripted([{}]), Telemetry.layerOff)
}

describe("outcomes while the store is away", () => {
  it.effect("an outcome that cannot be stored is stored again, backing off, and the task completes once", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Double, { n: 21 })
      // Three failed writes: retried after 50, 100 and 200 ms.
      yield* advance("300 millis", "10 millis")
      expect((yield* queue.get(id)).status).toBe("running")
      yield* advance("100 millis", "10 millis")
      const task = yield* queue.get(id)
      expect([task.status, task.attempt, task.result]).toStrictEqual(["completed", 1, 42])
    }).pipe(Effect.provide(runtime(3))))

  it.effect("a claim whose answer is lost gives its tasks back: they run at once, the lost claim not counted as an attempt", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Double, { n: 21 })
      // Well within the lease (30 s): only the give-back can free the task this soon.
      yield* advance("2 seconds", "10 millis")
      const task = yield* queue.get(id)
      expect([task.status, task.attempt, task.result]).toStrictEqual(["completed", 1, 42])
    }).pipe(Effect.provide(runtime(0, lostClaimAnswer))))
})
