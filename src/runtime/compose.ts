import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as os from "node:os"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import * as CommandTask from "../domain/CommandTask.js"
import type { RateLimit } from "../domain/RateLimit.js"
import * as Activity from "../services/events/Activity.js"
import * as Executors from "../services/pool/Executors.js"
import * as FiberExecutor from "../services/pool/FiberExecutor.js"
import * as MemoryPressure from "../services/resources/MemoryPressure.js"
import * as Registry from "../services/queue/Registry.js"
import * as ResourceGovernor from "../services/resources/ResourceGovernor.js"
import * as Scheduler from "../services/scheduler/Scheduler.js"
import * as SystemMetrics from "../services/resources/SystemMetrics.js"
import * as TaskEvents from "../services/events/TaskEvents.js"
import * as TaskQueue from "../services/queue/TaskQueue.js"
import { Telemetry } from "../services/telemetry/Telemetry.js"
import type { TaskStore } from "../services/store/TaskStore.js"
import * as Handlers from "../workers/Handlers.js"
import * as Capacity from "./capacity.js"
import { ImmediateScheduler } from "./ImmediateScheduler.js"
import * as LeaseOwners from "./LeaseOwners.js"
import type { TroupeConfig } from "./TroupeConfig.js"

/** The runtime could not start: a clear reason, nothing half-started. */
export class TroupeStartError extends Schema.TaggedError<TroupeStartError>()("TroupeStartError", {
  message: Schema.String
}) {}

/** Everything the runtime provides to an app. */
export type Services =
  | TaskQueue.TaskQueue
  | Scheduler.Scheduler
  | TaskStore
  | Registry.Registry
  | TaskEvents.TaskEvents
  | Activity.Activity
  | ResourceGovernor.ResourceGovernor
  | MemoryPressure.MemoryPressure
  | Executors.Executors

export const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string"
    ? (e as { message: string }).message
    : String(e)

/**
 * The services in-process handlers run with: the app's (what it provided the runtime's layer:
 * `R`) and, when some of the app's types run in this process (`allInProcess`: every type, as in
 * the test kit), what the handlers modules provide (built once here, released with the runtime;
 * each worker thread builds its own). Not the layer's own scope or span: a handler's scoped
 * resources and spans stay its attempt's.
 */
export const inProcessServices = <R>(
  handlers: Handlers.Handlers<R>,
  allInProcess: boolean
): Effect.Effect<Context.Context<unknown>, TroupeStartError, R | Scope.Scope> =>
  Effect.gen(function*() {
    // The whole context the runtime's layer is built in: the app's services among it.
    const built = (yield* Effect.context<R>()) as Context.Context<unknown>
    const app = Context.omit(Scope.Scope, Tracer.ParentSpan)(built) as Context.Context<unknown>
    // The built-in command type runs in-process but needs nothing of the modules.
    const inProcess = allInProcess ||
      [...handlers.byName.values()].some((h) => h.definition.execution === "fiber" && h.definition.name !== CommandTask.name)
    if (handlers.layer === undefined || !inProcess) return app
    const own = yield* Layer.build(handlers.layer).pipe(
      Effect.catchAllCause((cause) =>
        Effect.fail(new TroupeStartError({ message: `the handlers' services (Handlers.provide) could not be built: ${messageOf(Cause.squash(cause))}` })))
    )
    return Context.merge(app, own)
  })

/** Every task type in-process (the test kit, or apps without thread tasks). */
export const fiberExecutors = <R>(
  config: TroupeConfig,
  handlers: Handlers.Handlers<R>
): Layer.Layer<Executors.Executors, TroupeStartError, Activity.Activity | R> =>
  Layer.scoped(
    Executors.Executors,
    Effect.map(Effect.all([Activity.Activity, Telemetry, inProcessServices(handlers, true)]), ([activity, telemetry, services]) => {
      const fiber = FiberExecutor.make(handlers, {
        concurrency: config.fiberConcurrency,
        onActivity: activity.sink,
        tracing: telemetry.tracing,
        services
      })
      const missing = Executors.missing(Handlers.names(handlers))
      return Executors.Executors.of({
        forType: (type) => (handlers.byName.has(type) ? fiber : missing),
        all: [fiber],
        threads: false,
        resize: () => Effect.void
      })
    })
  )

/** Per-type concurrency limits from the definitions (`concurrency`). */
const typeLimits = (handlers: Handlers.Any) => {
  const limits = new Map<string, number>()
  for (const [name, h] of handlers.byName) {
    if (Option.isSome(h.definition.concurrency)) limits.set(name, h.definition.concurrency.value)
  }
  return (type: string) => limits.get(type)
}

/** Rate limits from the definitions (`rateLimit`). */
const rateLimits = (handlers: Handlers.Any) => {
  const limits = new Map<string, RateLimit>()
  for (const [name, h] of handlers.byName) {
    if (Option.isSome(h.definition.rateLimit)) limits.set(name, h.definition.rateLimit.value)
  }
  return (type: string) => limits.get(type)
}

/** Wires store, events, registry, activity, executors, scheduler and client together. */
export const compose = <R = never>(
  config: TroupeConfig,
  handlers: Handlers.Any,
  store: Layer.Layer<TaskStore, TroupeStartError>,
  executors: Layer.Layer<Executors.Executors, TroupeStartError, R>,
  metrics: Layer.Layer<SystemMetrics.SystemMetrics>,
  telemetry: Layer.Layer<Telemetry, TroupeStartError | { readonly _tag: "TelemetryUnavailable"; readonly message: string }>
): Layer.Layer<Services, TroupeStartError, Exclude<R, Activity.Activity>> => {
  const ms = Duration.toMillis
  const owner = LeaseOwners.make()
  const base = Layer.mergeAll(store, TaskEvents.layer, Registry.layer(handlers))
  const activity = Activity.layer({ logCap: config.logCap, progressFlushMs: ms(config.progressFlush) })
  const governor = Layer.effect(ResourceGovernor.ResourceGovernor, Effect.flatMap(Capacity.resolve(config), ResourceGovernor.make))
  const workers = config.workers === "auto" ? os.availableParallelism() : config.workers
  const pressure = Layer.unwrapEffect(Effect.map(Executors.Executors, (executors) =>
    MemoryPressure.layer({
      threshold: config.memoryThreshold,
      minFreeMb: config.minFreeMb,
      relief: Math.max(0, config.memoryThreshold - 0.1),
      calmSamples: 3,
      minWorkers: typeof workers === "number" ? 1 : workers.min,
      maxWorkers: typeof workers === "number" ? workers : workers.max,
      sampleEvery: config.memorySampleEvery,
      resize: executors.resize
    }).pipe(Layer.provide(SystemMetrics.withWorkerHeaps(
      metrics,
      Effect.map(Effect.forEach(executors.all, (e) => e.workers), (lists) =>
        lists.flat().flatMap((w) => (w.heapUsedMb === null ? [] : [w.heapUsedMb])))
    )))))
  // A process with no handlers is a producer: it stores tasks and dispatches none (the nodes
  // with handlers run them), rather than claim tasks only to fail them with HandlerNotFound.
  const scheduler = handlers.byName.size === 0 ? Scheduler.layerNoop(ms(config.statsWindow)) : Scheduler.layer({
    owner,
    leaseDurationMs: ms(config.leaseDuration),
    agingStepMs: ms(config.agingStep),
    mailboxCapacity: config.mailboxCapacity,
    pollIntervalMs: ms(config.pollInterval),
    targetBatchMs: ms(config.targetBatch),
    typeLimit: typeLimits(handlers),
    rateLimit: rateLimits(handlers),
    retentionMs: ms(config.retention),
    statsWindowMs: ms(config.statsWindow),
    shutdownTimeoutMs: ms(config.shutdownTimeout),
    nodeTimeoutMs: ms(config.nodeTimeout),
    ownerGone: LeaseOwners.isGone
  })
  const queue = TaskQueue.layer({
    agingStepMs: ms(config.agingStep),
    pollIntervalMs: ms(config.pollInterval),
    maxQueueSize: config.maxQueueSize > 0 ? config.maxQueueSize : undefined,
    statsWindowMs: ms(config.statsWindow),
    nodeTimeoutMs: ms(config.nodeTimeout),
    health: {
      failureRateWarning: config.failureRateWarning,
      failureRateCritical: config.failureRateCritical,
      minAttempts: 10,
      oldestReadyWarningMs: ms(config.oldestReadyWarning),
      oldestReadyCriticalMs: ms(config.oldestReadyCritical)
    }
  })
  return queue.pipe(
    Layer.provideMerge(scheduler),
    Layer.provideMerge(pressure),
    // Built once, shared by the scheduler and the pressure controller (pool size).
    Layer.provideMerge(executors),
    Layer.provideMerge(governor),
    Layer.provideMerge(activity),
    Layer.provideMerge(base),
    // First built, last released: every service reads it, and the tracer it installs reaches
    // every fiber the runtime forks (spans still open at shutdown are flushed last).
    // Telemetry asked for without its optional packages stops the start, saying what to install.
    Layer.provideMerge(Layer.mapError(telemetry, (e) => (e._tag === "TelemetryUnavailable" ? new TroupeStartError({ message: e.message }) : e))),
    // The runtime's own fibers (dispatcher, group commit, timers) yield with setImmediate.
    Layer.locally(FiberRef.currentScheduler, new ImmediateScheduler()),
    Layer.mapError((e) => (e._tag === "TroupeStartError" ? e : new TroupeStartError({ message: `start-up: ${e.message}` })))
  )
}
