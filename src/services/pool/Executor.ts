import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Outcome } from "../../domain/Outcome.js"
import type { Activity } from "../../domain/Activity.js"
import type { Claimed } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { WorkerStats } from "../../domain/WorkerStats.js"
import type { Room } from "../scheduler/Plan.js"

/** Where executors deliver the progress and log lines of running handlers, in order. */
export type ActivitySink = (items: ReadonlyArray<Activity>) => Effect.Effect<void>

/** How a batch went: one Outcome per task, in input order, and the time spent running it. */
export interface Ran {
  readonly outcomes: ReadonlyArray<Outcome>
  /** Time the executor spent on the batch itself (not waiting in line), for batch sizing. */
  readonly busyMs: number
}

/** Room taken for one batch: run it there, or give the room back. */
export interface Reservation {
  /**
   * Runs the batch in the reserved place (`short`: it may have a short batch queued behind it).
   * The room counts as used once the returned effect starts, not when it is made.
   */
  readonly run: (batch: NonEmptyReadonlyArray<Claimed>, short: boolean) => Effect.Effect<Ran>
  /** Gives the room back if no batch started in it (the claim came back empty or failed, or the batch was stopped first); a no-op otherwise. */
  readonly cancel: Effect.Effect<void>
}

/**
 * Something that runs claimed attempts: the worker-thread pool or the in-process fiber
 * executor. The scheduler keeps at most `capacity` tasks in flight and sends at most
 * `maxBatch` in one `run`.
 */
export interface Executor {
  /**
   * Its room as it is now (a synchronous read): `capacity`, the tasks it can hold at once, and
   * `slots`, the concurrent `run` calls it serves without queueing internally (threads ×
   * requests per thread). The scheduler exceeds neither, so requests never wait inside a pool.
   */
  readonly room: () => Room
  /** Largest number of tasks sent in one `run`. */
  readonly maxBatch: number
  /**
   * Runs a batch; one Outcome per task, in input order. Never fails: a crashed thread yields
   * WorkerCrashed outcomes for the attempts it held. Interrupting it interrupts the handlers.
   */
  readonly run: (batch: NonEmptyReadonlyArray<Claimed>) => Effect.Effect<Ran>
  /**
   * Takes room for one batch now, without waiting: an idle worker or, for a `short` batch
   * (measured to take at most targetBatch), a place behind a short batch on a busy one —
   * pipelining that keeps a thread fed without holding a claimed task back for longer than
   * one short batch. None when there is no such room. The dispatcher reserves before it
   * claims, so a claimed task never waits for a worker.
   */
  readonly reserve: (short: boolean) => Effect.Effect<Option.Option<Reservation>>
  /** Resolves once room may have opened (a worker started, a batch ended). */
  readonly roomChanged: Effect.Effect<void>
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
