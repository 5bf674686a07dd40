import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as os from "node:os"
import * as Activity from "../services/events/Activity.js"
import * as Executors from "../services/pool/Executors.js"
import * as SystemMetrics from "../services/resources/SystemMetrics.js"
import * as FiberExecutor from "../services/pool/FiberExecutor.js"
import type { TaskStore } from "../services/store/TaskStore.js"
import * as TaskStorePostgres from "../services/store/TaskStorePostgres.js"
import * as TaskStoreSqlite from "../services/store/TaskStoreSqlite.js"
import * as Database from "./database.js"
import * as WorkerPool from "../services/pool/WorkerPool.js"
import * as CommandHandler from "../workers/CommandHandler.js"
import * as Handlers from "../workers/Handlers.js"
import * as HandlersModules from "../workers/HandlersModules.js"
import { compose, fiberExecutors, inProcessServices, messageOf, TroupeStartError } from "./compose.js"
import type { Services } from "./compose.js"
import * as Telemetry from "./Telemetry.js"
import * as TroupeConfig from "./TroupeConfig.js"

export { TroupeStartError }
export type { Services }

const durationKeys = [
  "leaseDuration", "agingStep", "pollInterval", "targetBatch", "progressFlush", "retention", "statsWindow",
  "interruptGrace", "oldestReadyWarning", "oldestReadyCritical", "memorySampleEvery", "staleAfter", "shutdownTimeout"
] as const
type DurationKeys = typeof durationKeys[number]

export interface Options<R = never>
  extends Partial<Omit<TroupeConfig.TroupeConfig, DurationKeys> & Record<DurationKeys, Duration.DurationInput>>
{
  /**
   * The handlers registry, when the app imports it itself; otherwise `handlersModule` is
   * imported (a list is merged). Its in-process handlers may require the app's services (`R`):
   * the runtime's layer then requires them too.
   */
  readonly handlers?: Handlers.Handlers<R>
  /** Where machine readings come from (default: the host and its cgroup, SystemMetrics.layerLive). */
  readonly metrics?: Layer.Layer<SystemMetrics.SystemMetrics>
  /** OpenTelemetry tracing and metrics (default: off); see Telemetry.layer. */
  readonly telemetry?: Telemetry.Options
}

/**
 * The task types of this process: the app's registry or its handlers modules (the same ones
 * worker threads load), plus the built-in `command` type when `allowCommands` is on.
 */
export const loadHandlers = (
  config: TroupeConfig.TroupeConfig,
  handlers?: Handlers.Any
): Effect.Effect<Handlers.Any, TroupeStartError> => {
  const builtIn = config.allowCommands ? [CommandHandler.handlers({ grace: config.interruptGrace })] : []
  const load = handlers !== undefined
    ? HandlersModules.load(undefined, [handlers, ...builtIn])
    : HandlersModules.load(config.handlersModule, builtIn)
  return Effect.mapError(load, (e) => new TroupeStartError({ message: e.message }))
}

const poolSize = (workers: TroupeConfig.TroupeConfig["workers"]) =>
  workers === "auto" ? os.availableParallelism() : workers

/** Routes each type to worker threads, or to fibers when its definition says `execution: "fiber"`. */
export const threadExecutors = <R>(config: TroupeConfig.TroupeConfig, handlers: Handlers.Handlers<R>) =>
  Layer.scoped(
    Executors.Executors,
    Effect.gen(function*() {
      const activity = yield* Activity.Activity
      const telemetry = yield* Telemetry.Telemetry
      const fiber = FiberExecutor.make(handlers, {
        concurrency: config.fiberConcurrency,
        onActivity: activity.sink,
        tracing: telemetry.tracing,
        services: yield* inProcessServices(handlers, false)
      })
      if (config.handlersModule === undefined) {
        return yield* Effect.fail(new TroupeStartError({
          message: "thread task types are registered but no handlersModule path is configured for worker threads"
        }))
      }
      const threads = yield* Layer.build(WorkerPool.layer({
        handlersModule: config.handlersModule,
        size: poolSize(config.workers),
        heapLimitMb: config.heapLimitMb,
        graceMs: Duration.toMillis(config.interruptGrace),
        recycleAfterTasks: config.recycleAfterTasks,
        heapSoftLimitMb: config.heapSoftLimitMb === "auto" ? Math.floor(config.heapLimitMb * 0.8) : config.heapSoftLimitMb,
        staleAfterMs: Duration.toMillis(config.staleAfter),
        queueBehindMs: 2 * Duration.toMillis(config.targetBatch),
        onActivity: activity.sink,
        tracing: telemetry.tracing,
        onSpans: telemetry.tracing ? telemetry.exportSpans : undefined
      })).pipe(
        Effect.map((ctx) => Context.get(ctx, WorkerPool.WorkerPool)),
        Effect.mapError((e) => new TroupeStartError({ message: `worker pool: ${messageOf(e)}` }))
      )
      const missing = Executors.missing(Handlers.names(handlers))
      return Executors.Executors.of({
        forType: (type) => {
          const handler = handlers.byName.get(type)
          if (handler === undefined) return missing
          return handler.definition.execution === "fiber" ? fiber : threads
        },
        all: [threads, fiber],
        threads: true,
        resize: threads.setTarget
      })
    })
  )

/** Builds the runtime from a full configuration. */
export const fromConfig = <R = never>(
  config: TroupeConfig.TroupeConfig,
  handlers?: Handlers.Handlers<R>,
  metrics: Layer.Layer<SystemMetrics.SystemMetrics> = SystemMetrics.layerLive,
  telemetry: Layer.Layer<Telemetry.Telemetry, TroupeStartError | Telemetry.TelemetryUnavailable> = Telemetry.layerOff
): Layer.Layer<Services, TroupeStartError, R> => {
  const loaded = loadHandlers(config, handlers)
  // A postgres:// URL selects PostgreSQL; anything else is a SQLite file.
  const store: Layer.Layer<TaskStore, TroupeStartError> = (Database.isPostgres(config.database)
    ? TaskStorePostgres.layerPostgres({ url: Redacted.make(config.database), maxConnections: config.databasePool })
    : TaskStoreSqlite.layerSqlite({ filename: config.database, durability: config.durability })
  ).pipe(Layer.mapError((e) => new TroupeStartError({ message: `store ${Database.describe(config.database)}: ${messageOf(e)}` })))
  return Layer.unwrapEffect(Effect.map(loaded, (handlers) => {
    const needsThreads = [...handlers.byName.values()].some((h) => h.definition.execution === "thread")
    // Loaded by path, or merged with the built-in types: the app's own registry's requirements.
    const typed = handlers as Handlers.Handlers<R>
    const executors = needsThreads ? threadExecutors(config, typed) : fiberExecutors(config, typed)
    return compose(config, handlers, store, executors, metrics, telemetry)
  }))
}

/** The runtime with explicit options over the defaults. */
export const layer = <R = never>(options: Options<R> = {}): Layer.Layer<Services, TroupeStartError, R> => {
  const { handlers, metrics, telemetry, ...rest } = options
  const durations = Object.fromEntries(
    durationKeys.map((key) => [key, Duration.decode(rest[key] ?? TroupeConfig.defaults[key])])
  ) as Pick<TroupeConfig.TroupeConfig, DurationKeys>
  return fromConfig(
    { ...TroupeConfig.defaults, ...rest, ...durations },
    handlers,
    metrics,
    telemetry === undefined ? Telemetry.layerOff : Telemetry.layer(telemetry)
  )
}

/** Telemetry from the standard OTEL_* variables (Telemetry.layerConfig), errors as TroupeStartError. */
export const telemetryConfig: Layer.Layer<Telemetry.Telemetry, TroupeStartError> = Telemetry.layerConfig.pipe(
  Layer.mapError((e) => new TroupeStartError({ message: e._tag === "TelemetryUnavailable" ? e.message : `telemetry configuration: ${e.message}` }))
)

/**
 * The runtime configured from TROUPE_* environment variables, with telemetry from the
 * standard OTEL_* ones (Telemetry.layerConfig: off unless an OTLP endpoint is set).
 */
export const layerConfig = <R = never>(handlers?: Handlers.Handlers<R>): Layer.Layer<Services, TroupeStartError, R> =>
  Layer.unwrapEffect(
    TroupeConfig.config.pipe(
      Effect.mapError((e) => new TroupeStartError({ message: `configuration: ${e.message}` })),
      Effect.map((config) =>
        fromConfig(config, handlers, SystemMetrics.layerLive, telemetryConfig)
      )
    )
  )
