import * as Duration from "effect/Duration"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as os from "node:os"
import * as Schema from "effect/Schema"
import * as Executors from "../services/Executors.js"
import * as FiberExecutor from "../services/FiberExecutor.js"
import * as Registry from "../services/Registry.js"
import * as Scheduler from "../services/Scheduler.js"
import * as TaskEvents from "../services/TaskEvents.js"
import * as TaskQueue from "../services/TaskQueue.js"
import type { TaskStore } from "../services/TaskStore.js"
import * as Handlers from "../workers/Handlers.js"
import { ImmediateScheduler } from "./ImmediateScheduler.js"
import type { TroupeConfig } from "./TroupeConfig.js"

/** The runtime could not start: a clear reason, nothing half-started. */
export class TroupeStartError extends Schema.TaggedError<TroupeStartError>()("TroupeStartError", {
  message: Schema.String
}) {}

/** Everything the runtime provides to an app. */
export type Services = TaskQueue.TaskQueue | Scheduler.Scheduler | TaskStore | Registry.Registry | TaskEvents.TaskEvents

export const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string"
    ? (e as { message: string }).message
    : String(e)

/** Every task type in-process (the test kit, or apps without thread tasks). */
export const fiberExecutors = (config: TroupeConfig, handlers: Handlers.Handlers): Layer.Layer<Executors.Executors> => {
  const fiber = FiberExecutor.make(handlers, { concurrency: config.fiberConcurrency })
  const missing = Executors.missing(Handlers.names(handlers))
  return Layer.succeed(Executors.Executors, Executors.Executors.of({
    forType: (type) => (handlers.byName.has(type) ? fiber : missing)
  }))
}

/** Wires store, events, registry, scheduler and client together. */
export const compose = (
  config: TroupeConfig,
  handlers: Handlers.Handlers,
  store: Layer.Layer<TaskStore, TroupeStartError>,
  executors: Layer.Layer<Executors.Executors, TroupeStartError>
): Layer.Layer<Services, TroupeStartError> => {
  const owner = `${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`
  const base = Layer.mergeAll(store, TaskEvents.layer, Registry.layer(handlers))
  const scheduler = Scheduler.layer({
    owner,
    leaseDurationMs: Duration.toMillis(config.leaseDuration),
    agingStepMs: Duration.toMillis(config.agingStep),
    mailboxCapacity: config.mailboxCapacity,
    pollIntervalMs: Duration.toMillis(config.pollInterval),
    targetBatchMs: Duration.toMillis(config.targetBatch)
  }).pipe(Layer.provide(executors))
  const queue = TaskQueue.layer({
    agingStepMs: Duration.toMillis(config.agingStep),
    pollIntervalMs: Duration.toMillis(config.pollInterval)
  })
  return queue.pipe(
    Layer.provideMerge(scheduler),
    Layer.provideMerge(base),
    // The runtime's own fibers (dispatcher, group commit, timers) yield with setImmediate.
    Layer.locally(FiberRef.currentScheduler, new ImmediateScheduler()),
    Layer.mapError((e) => (e._tag === "TroupeStartError" ? e : new TroupeStartError({ message: `start-up: ${e.message}` })))
  )
}
