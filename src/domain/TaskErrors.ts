import * as Schema from "effect/Schema"
import { TaskStatus } from "./TaskStatus.js"

// Errors that are stored with a task or cross the worker-thread boundary are Schema classes,
// so they survive encoding; the rest are Schema classes too so the HTTP API can send them.

/** The worker thread running the attempt died (process.exit, uncaught throw, heap limit). */
export class WorkerCrashed extends Schema.TaggedError<WorkerCrashed>()("WorkerCrashed", {
  workerId: Schema.Number,
  reason: Schema.Literal("exit", "error", "oom", "spawn"),
  message: Schema.String
}) {}

/**
 * The worker thread running the attempt passed its heap limit (resourceLimits) and was
 * replaced; the attempt follows its retry policy.
 */
export class WorkerOutOfMemory extends Schema.TaggedError<WorkerOutOfMemory>()("WorkerOutOfMemory", {
  workerId: Schema.Number,
  message: Schema.String
}) {}

/** The handler died with a defect, or its payload/result did not match the definition's Schema. */
export class TaskDefect extends Schema.TaggedError<TaskDefect>()("TaskDefect", {
  reason: Schema.Literal("defect", "decode", "encode", "interrupted"),
  message: Schema.String
}) {}

/** The attempt ran past its timeout. */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>()("TaskTimeout", {
  timeoutMs: Schema.Number,
  message: Schema.String
}) {}

/** The executor has no handler registered for the task's type. */
export class HandlerNotFound extends Schema.TaggedError<HandlerNotFound>()("HandlerNotFound", {
  taskType: Schema.String,
  message: Schema.String
}) {}

/** The handler failed with the definition's typed failure, kept in encoded form. */
export class HandlerFailure extends Schema.TaggedError<HandlerFailure>()("HandlerFailure", {
  error: Schema.Unknown,
  message: Schema.String
}) {}

/** A task this one depends on failed or was cancelled, so this one never ran (attempt 0). */
export class DependencyFailed extends Schema.TaggedError<DependencyFailed>()("DependencyFailed", {
  dependency: Schema.String,
  message: Schema.String
}) {}

/**
 * The attempt ended with no outcome: its lease expired (the process that ran it stopped
 * renewing it — crashed, hung, or cut off from the store), that process is known to be gone
 * (same host), or its node stopped heartbeating and was declared dead (any host).
 * It counts like any failed attempt: a task that kills its process on every attempt ends failed.
 */
export class AttemptLost extends Schema.TaggedError<AttemptLost>()("AttemptLost", {
  reason: Schema.Literal("leaseExpired", "ownerGone", "nodeDead"),
  /** The lease owner that held the attempt (host:pid:start:instance). */
  owner: Schema.String,
  message: Schema.String
}) {}

/** Why one attempt failed. */
export const AttemptFailure = Schema.Union(
  AttemptLost,
  WorkerCrashed,
  WorkerOutOfMemory,
  TaskDefect,
  TaskTimeout,
  HandlerNotFound,
  HandlerFailure,
  DependencyFailed
)
export type AttemptFailure = typeof AttemptFailure.Type

/** One failed attempt as it is kept on the task record. */
export class AttemptError extends Schema.Class<AttemptError>("AttemptError")({
  attempt: Schema.Int,
  at: Schema.Number,
  error: AttemptFailure
}) {}

// ---- client-facing errors -------------------------------------------------------------------

export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", {
  taskId: Schema.String
}) {
  override get message() {
    return `no task with id ${this.taskId}`
  }
}

export class UnknownTaskType extends Schema.TaggedError<UnknownTaskType>()("UnknownTaskType", {
  taskType: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message() {
    const hint = this.taskType === "command"
      ? "; the built-in command type is off: start the server with --allow-commands (TROUPE_ALLOW_COMMANDS=true)"
      : ""
    return `unknown task type "${this.taskType}" (known: ${this.known.join(", ") || "none"})${hint}`
  }
}

/** A schedule that cannot be kept: no rule, a bad cron expression or time zone, a name that is not one. */
export class InvalidSchedule extends Schema.TaggedError<InvalidSchedule>()("InvalidSchedule", {
  schedule: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `schedule ${JSON.stringify(this.schedule)}: ${this.reason}`
  }
}

/** The payload (or a submit option) does not match the definition. Nothing was stored. */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()("InvalidPayload", {
  taskType: Schema.String,
  message: Schema.String
}) {}

export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  taskId: Schema.String,
  from: TaskStatus,
  event: Schema.String,
  message: Schema.String
}) {}

/** The attempt's lease was superseded: a newer attempt (or a recovery) owns the task now. */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  taskId: Schema.String
}) {
  override get message() {
    return `the lease on task ${this.taskId} is no longer held by this attempt`
  }
}

/** The store could not be read or written. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** The task ended `failed`; every attempt's error is attached. */
export class TaskFailed extends Schema.TaggedError<TaskFailed>()("TaskFailed", {
  taskId: Schema.String,
  errors: Schema.Array(AttemptError)
}) {
  override get message() {
    const last = this.errors[this.errors.length - 1]
    return `task ${this.taskId} failed after ${this.errors.length} attempt(s)` +
      (last ? `: ${last.error._tag}: ${last.error.message}` : "")
  }
}

export class TaskCancelled extends Schema.TaggedError<TaskCancelled>()("TaskCancelled", {
  taskId: Schema.String
}) {
  override get message() {
    return `task ${this.taskId} was cancelled`
  }
}

/** The queue holds `limit` unfinished tasks already; nothing of this submit was stored. */
export class QueueFull extends Schema.TaggedError<QueueFull>()("QueueFull", {
  limit: Schema.Number,
  message: Schema.String
}) {}

/** A dependency is unknown, repeated on itself, or part of a cycle; nothing was stored. */
export class InvalidDependency extends Schema.TaggedError<InvalidDependency>()("InvalidDependency", {
  taskId: Schema.String,
  message: Schema.String
}) {}

/**
 * A subscriber to task events fell `capacity` deliveries behind and was let go, so it would not
 * slow the others or grow without bound. Nothing is lost in the store: subscribe again and
 * re-read the state (list, counts, get).
 */
export class EventsOverflow extends Schema.TaggedError<EventsOverflow>()("EventsOverflow", {
  capacity: Schema.Number
}) {
  override get message() {
    return `this subscriber fell ${this.capacity} deliveries behind and was dropped so it would not slow the others: subscribe again and re-read the state (list, counts)`
  }
}
