import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { ActivitySink, Executor } from "./Executor.js"
import type { Handlers } from "../workers/Handlers.js"
import * as RunTask from "../workers/runTask.js"

/**
 * Runs handlers as fibers in this process: for I/O-bound task types (execution: "fiber")
 * and for the TroupeTest kit, where TestClock reaches every handler. A batch runs its tasks
 * one after another — a fiber per task cost a third of the throughput (bench/) — and the
 * scheduler only batches task types measured to be quick: slow or untimed ones come one per
 * batch, and up to `concurrency` batches run at once.
 */
export const make = (handlers: Handlers, options: { readonly concurrency: number; readonly onActivity?: ActivitySink }): Executor => ({
  capacity: Effect.succeed(options.concurrency),
  slots: Effect.succeed(options.concurrency),
  maxBatch: 64,
  interrupt: () => Effect.void,
  workers: Effect.succeed([]),
  run: (batch) =>
    Effect.timed(Effect.forEach(
      batch,
      (task) =>
        RunTask.runTask(handlers, {
          id: task.id,
          type: task.type,
          payload: task.payload,
          attempt: task.attempt,
          timeoutMs: task.timeoutMs
        }, RunTask.logOnly),
    )).pipe(Effect.map(([duration, outcomes]) => ({ outcomes, busyMs: Duration.toMillis(duration) })))
})
