import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ActivitySink, Executor } from "./Executor.js"
import * as BatchRun from "../../workers/BatchRun.js"
import type { Handlers } from "../../workers/Handlers.js"
import * as Protocol from "../../workers/Protocol.js"
import * as RunTask from "../../workers/runTask.js"

export interface Options {
  /** Batches run at once. */
  readonly concurrency: number
  /** Where handlers' progress and log lines go, one item per call; Effect's logger when absent. */
  readonly onActivity?: ActivitySink | undefined
  /** Each attempt runs under a `troupe.attempt` span (telemetry on). */
  readonly tracing?: boolean | undefined
  /** The services the handlers require: the app's and their modules' (Handlers.provide). */
  readonly services?: Context.Context<unknown> | undefined
}

/**
 * Runs handlers as fibers in this process: for I/O-bound task types (execution: "fiber")
 * and for the TroupeTest kit, where TestClock reaches every handler. A batch runs its tasks
 * one after another in one fiber (BatchRun) — a fiber per task cost a third of the throughput
 * (bench/) — and the scheduler only batches task types measured to be quick: slow or untimed
 * ones come one per batch, and up to `concurrency` batches run at once. Timeouts and cancel
 * interrupt the handler where it runs (finalizers run), under Clock/TestClock.
 */
export const make = (handlers: Handlers<unknown>, options: Options): Executor => {
  const registry = BatchRun.makeRegistry()
  const sink = options.onActivity
  const emit: RunTask.Emit = sink === undefined ? RunTask.logOnly : (item) => sink([item])
  const run: Executor["run"] = (tasks) => {
    const batch = BatchRun.make(
      handlers,
      tasks.map(Protocol.wireTask),
      { emit, tracing: options.tracing, services: options.services }
    )
    return BatchRun.registered(registry, batch, Effect.timed(batch.run)).pipe(
      Effect.map(([duration, outcomes]) => ({ outcomes, busyMs: Duration.toMillis(duration) }))
    )
  }
  return {
    // Fibers need no worker: the scheduler's count of batches in flight (slots) is the limit.
    reserve: () => Effect.succeed(Option.some({ run: (batch) => run(batch), cancel: Effect.void })),
    roomChanged: Effect.never,
    run,
    room: () => ({ capacity: options.concurrency, slots: options.concurrency }),
    maxBatch: 64,
    interrupt: (ids) => BatchRun.cancel(registry, ids),
    workers: Effect.succeed([])
  }
}
