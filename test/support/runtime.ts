import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { compose, fiberExecutors } from "../../src/runtime/compose.js"
import * as Telemetry from "../../src/runtime/Telemetry.js"
import * as TroupeConfig from "../../src/runtime/TroupeConfig.js"
import * as SystemMetrics from "../../src/services/resources/SystemMetrics.js"
import { TaskStore } from "../../src/services/store/TaskStore.js"
import * as TaskStoreSqlite from "../../src/services/store/TaskStoreSqlite.js"
import type * as Handlers from "../../src/workers/Handlers.js"

/**
 * The whole runtime in-process on SQLite in memory, with the store seen through `spy` (e.g. to
 * count the calls a behaviour makes) and the configuration overridden.
 */
export const spiedRuntime = (
  handlers: Handlers.Handlers,
  spy: (store: TaskStore["Type"]) => TaskStore["Type"],
  overrides: Partial<TroupeConfig.TroupeConfig> = {}
) => {
  const store = Layer.effect(TaskStore, Effect.map(TaskStore, spy)).pipe(Layer.provide(TaskStoreSqlite.layerMemory), Layer.orDie)
  const config = { ...TroupeConfig.defaults, gpu: 0, shutdownTimeout: Duration.zero, ...overrides }
  return compose(config, handlers, store, fiberExecutors(config, handlers), SystemMetrics.layerScripted([{}]), Telemetry.layerOff)
}

/**
 * The whole runtime in-process on a SQLite file (or `:memory:`), as one process of several
 * sharing it, with its periodic duties (heartbeats, samples, progress flushes) spaced out: tests
 * that move TestClock by hours or days would otherwise run each of them at every step.
 */
export const fileRuntime = (database: string, handlers: Handlers.Handlers, pollInterval: Duration.Duration) => {
  const config = {
    ...TroupeConfig.defaults,
    gpu: 0,
    shutdownTimeout: Duration.zero,
    database,
    pollInterval,
    leaseDuration: Duration.hours(3),
    nodeTimeout: Duration.hours(1),
    memorySampleEvery: Duration.hours(1),
    progressFlush: Duration.hours(1)
  }
  return compose(config, handlers, Layer.orDie(TaskStoreSqlite.layerSqlite({ filename: database })), fiberExecutors(config, handlers),
    SystemMetrics.layerScripted([{}]), Telemetry.layerOff)
}
