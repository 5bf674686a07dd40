import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as SystemMetrics from "../services/resources/SystemMetrics.js"
import * as TaskStoreSqlite from "../services/store/TaskStoreSqlite.js"
import type * as Handlers from "../workers/Handlers.js"
import { compose, fiberExecutors, TroupeStartError } from "./compose.js"
import type { Services } from "./compose.js"
import * as Telemetry from "./Telemetry.js"
import * as Troupe from "./Troupe.js"
import * as TroupeConfig from "./TroupeConfig.js"

export interface TestOptions {
  /** Machine readings, replayed one per sample (default: a calm machine). */
  readonly metrics?: Layer.Layer<SystemMetrics.SystemMetrics>
  /** Tracing and metrics (default: off), e.g. spans into an InMemorySpanExporter. */
  readonly telemetry?: Telemetry.Options
  /**
   * Runs the task types defined `execution: "thread"` on real worker threads that load this
   * compiled handlers module (the one `handlers` comes from), as production does; fiber types
   * stay in-process. Threads run in real time: TestClock reaches the main thread's side only
   * (delays, retries, timers), not handlers inside threads.
   */
  readonly threads?: { readonly handlersModule: string | ReadonlyArray<string>; readonly workers?: number }
}

/**
 * The deterministic test kit: SQLite in memory (the same store as in production) and
 * in-process (fiber) execution of every task type, so TestClock reaches retries, delays and
 * handlers; or, with `threads`, the thread types on real worker threads. Machine readings are
 * scripted (SystemMetrics.layerScripted) so memory pressure happens on cue. For an app's own
 * tests of its task flows; not for production.
 */
export const layer = <R = never>(
  handlers: Handlers.Handlers<R>,
  options: Partial<Omit<TroupeConfig.TroupeConfig, "database" | "handlersModule" | "allowCommands">> = {},
  test: TestOptions = {}
): Layer.Layer<Services, TroupeStartError, R> => {
  // No GPU probe (a child process) in tests unless asked for; at the end of a test, running
  // tasks are interrupted at once rather than awaited (TestClock would not move).
  const config = {
    ...TroupeConfig.defaults,
    gpu: 0,
    shutdownTimeout: Duration.zero,
    ...options,
    database: ":memory:",
    handlersModule: test.threads?.handlersModule,
    workers: test.threads?.workers ?? 1
  }
  return compose(
    config,
    handlers,
    TaskStoreSqlite.layerMemory.pipe(Layer.mapError((e) => new TroupeStartError({ message: `store :memory:: ${e.message}` }))),
    test.threads === undefined ? fiberExecutors(config, handlers) : Troupe.threadExecutors(config, handlers),
    test.metrics ?? SystemMetrics.layerScripted([{}]),
    test.telemetry === undefined ? Telemetry.layerOff : Telemetry.layer(test.telemetry)
  )
}
