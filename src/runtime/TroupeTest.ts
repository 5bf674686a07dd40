import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as SystemMetrics from "../services/SystemMetrics.js"
import * as TaskStoreSqlite from "../services/TaskStoreSqlite.js"
import type * as Handlers from "../workers/Handlers.js"
import { compose, fiberExecutors, TroupeStartError } from "./compose.js"
import type { Services } from "./compose.js"
import * as Telemetry from "./Telemetry.js"
import * as TroupeConfig from "./TroupeConfig.js"

export interface TestOptions {
  /** Machine readings, replayed one per sample (default: a calm machine). */
  readonly metrics?: Layer.Layer<SystemMetrics.SystemMetrics>
  /** Tracing and metrics (default: off), e.g. spans into an InMemorySpanExporter. */
  readonly telemetry?: Telemetry.Options
}

/**
 * The deterministic test kit: SQLite in memory (the same store as in production) and in-process (fiber) execution of every
 * task type, so TestClock reaches retries, delays and handlers; machine readings are scripted
 * (SystemMetrics.layerScripted) so memory pressure happens on cue. For an app's own tests of
 * its task flows; not for production.
 */
export const layer = (
  handlers: Handlers.Handlers,
  options: Partial<Omit<TroupeConfig.TroupeConfig, "database" | "handlersModule" | "allowCommands">> = {},
  test: TestOptions = {}
): Layer.Layer<Services, TroupeStartError> => {
  // No GPU probe (a child process) in tests unless asked for; at the end of a test, running
  // tasks are interrupted at once rather than awaited (TestClock would not move).
  const config = {
    ...TroupeConfig.defaults,
    gpu: 0,
    shutdownTimeout: Duration.zero,
    ...options,
    database: ":memory:",
    handlersModule: undefined
  }
  return compose(
    config,
    handlers,
    TaskStoreSqlite.layerMemory.pipe(Layer.mapError((e) => new TroupeStartError({ message: `store :memory:: ${e.message}` }))),
    fiberExecutors(config, handlers),
    test.metrics ?? SystemMetrics.layerScripted([{}]),
    test.telemetry === undefined ? Telemetry.layerOff : Telemetry.layer(test.telemetry)
  )
}
