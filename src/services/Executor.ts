import type * as Effect from "effect/Effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Outcome } from "../domain/Outcome.js"
import type { Activity } from "../domain/Activity.js"
import type { Claimed } from "../domain/Task.js"
import type { TaskId } from "../domain/TaskId.js"
import type { WorkerStats } from "../domain/WorkerStats.js"

/** Where executors deliver the progress and log lines of running handlers, in order. */
export type ActivitySink = (items: ReadonlyArray<Activity>) => Effect.Effect<void>

/** How a batch went: one Outcome per task, in input order, and the time spent running it. */
export interface Ran {
  readonly outcomes: ReadonlyArray<Outcome>
  /** Time the executor spent on the batch itself (not waiting in line), for batch sizing. */
  readonly busyMs: number
}

/**
 * Something that runs claimed attempts: the worker-thread pool or the in-process fiber
 * executor. The scheduler keeps at most `capacity` tasks in flight and sends at most
 * `maxBatch` in one `run`.
 */
export interface Executor {
  /** Tasks it can hold at once; the scheduler never exceeds it. */
  readonly capacity: Effect.Effect<number>
  /**
   * Concurrent `run` calls it serves without queueing internally (threads × requests per
   * thread); the scheduler never exceeds it either, so requests never wait inside a pool.
   */
  readonly slots: Effect.Effect<number>
  /** Largest number of tasks sent in one `run`. */
  readonly maxBatch: number
  /**
   * Runs a batch; one Outcome per task, in input order. Never fails: a crashed thread yields
   * WorkerCrashed outcomes for the attempts it held. Interrupting it interrupts the handlers.
   */
  readonly run: (batch: NonEmptyReadonlyArray<Claimed>) => Effect.Effect<Ran>
  /**
   * Whether a batch can start now without waiting for a worker: on an idle one or, for a
   * `short` batch (measured to take at most targetBatch), queued behind a short batch on a
   * busy one — pipelining that keeps a thread fed without holding a claimed task back for
   * longer than one short batch.
   */
  readonly room: (short: boolean) => Effect.Effect<boolean>
  /**
   * Takes the worker for a batch now, in the caller's fiber (so the next `room` sees it), and
   * returns its run (as `run`).
   */
  readonly start: (batch: NonEmptyReadonlyArray<Claimed>, short: boolean) => Effect.Effect<Effect.Effect<Ran>>
  /**
   * Interrupts the running attempts of these tasks (cancel): the handler is interrupted where
   * it runs and its finalizers run; an attempt still queued in a batch is skipped. A handler
   * that does not yield within the grace period loses its thread. The interrupted attempts'
   * outcomes come back through `run` as usual (the store ignores them: the task moved on).
   */
  readonly interrupt: (ids: ReadonlyArray<TaskId>) => Effect.Effect<void>
  /** The executor's workers (threads), for stats and health; empty for in-process fibers. */
  readonly workers: Effect.Effect<ReadonlyArray<WorkerStats>>
}
