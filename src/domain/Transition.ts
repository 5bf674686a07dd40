import * as Either from "effect/Either"
import { InvalidTransition } from "./TaskErrors.js"
import type { TaskId } from "./TaskId.js"
import type { TaskStatus } from "./TaskStatus.js"

/**
 * The events that move a task between statuses. Each event has one target status and a
 * fixed set of statuses it may start from; everything else is an illegal transition.
 */
export const table = {
  /** The scheduler claims a ready task for an attempt. */
  claim: { from: ["pending"], to: "running" },
  /** The attempt succeeded. */
  complete: { from: ["running"], to: "completed" },
  /** The attempt failed and the retry policy allows another one later. */
  retry: { from: ["running"], to: "retrying" },
  /** The attempt failed and no attempt is left. */
  fail: { from: ["running"], to: "failed" },
  /** A delayed or retrying task reached its run-at. */
  wake: { from: ["delayed", "retrying"], to: "pending" },
  /** The attempt's lease lapsed (dead process) or was given back (shutdown): run it again. */
  release: { from: ["running"], to: "pending" },
  /** Every dependency completed. */
  unblock: { from: ["blocked"], to: "pending" },
  /** Every dependency completed, and the task's run-at is still ahead. */
  unblockLater: { from: ["blocked"], to: "delayed" },
  /** A dependency failed or was cancelled. */
  dependencyFailed: { from: ["blocked", "paused"], to: "failed" },
  /** Stop the task for good. */
  cancel: { from: ["pending", "blocked", "delayed", "retrying", "running", "paused"], to: "cancelled" },
  /** Hold a waiting task where it is. */
  pause: { from: ["pending", "blocked", "delayed", "retrying"], to: "paused" },
  /** Let a paused task run again (it was ready, or became so while paused). */
  resume: { from: ["paused"], to: "pending" },
  /** Resume a task that still waits on dependencies. */
  resumeBlocked: { from: ["paused"], to: "blocked" },
  /** Resume a task whose run-at is still ahead (it was delayed or retrying). */
  resumeDelayed: { from: ["paused"], to: "delayed" },
  /** An operator retries a failed or cancelled task by hand. */
  manualRetry: { from: ["failed", "cancelled"], to: "pending" },
  /** An operator retries by hand a task whose dependencies have not all completed. */
  manualRetryBlocked: { from: ["failed", "cancelled"], to: "blocked" }
} as const satisfies Record<string, { readonly from: ReadonlyArray<TaskStatus>; readonly to: TaskStatus }>

export type TaskEvent = keyof typeof table

export const events: ReadonlyArray<TaskEvent> = Object.keys(table) as Array<TaskEvent>

/** The statuses an event may start from (used by SQL stores in their WHERE clauses). */
export const sources = (event: TaskEvent): ReadonlyArray<TaskStatus> => table[event].from

/** The status an event leads to. */
export const target = (event: TaskEvent): TaskStatus => table[event].to

/** Whether `event` may happen to a task in `from`. */
export const isLegal = (from: TaskStatus, event: TaskEvent): boolean =>
  (table[event].from as ReadonlyArray<TaskStatus>).includes(from)

/** The total transition function: the next status, or an InvalidTransition error. */
export const transition = (
  taskId: TaskId,
  from: TaskStatus,
  event: TaskEvent
): Either.Either<TaskStatus, InvalidTransition> =>
  isLegal(from, event)
    ? Either.right(target(event))
    : Either.left(
      new InvalidTransition({
        taskId,
        from,
        event,
        message: `task ${taskId} cannot ${event} while ${from} (allowed from: ${table[event].from.join(", ")})`
      })
    )
