import { WorkerError } from "@effect/platform/WorkerError"
import * as Schema from "effect/Schema"
import { AttemptFailure } from "../domain/TaskErrors.js"

// Wire shapes are plain Structs of already-validated data (no branded ids, no classes):
// they cross the boundary once per task, and class decoding costs several times more.

/** One task as it crosses into a worker thread: only encoded data. */
export const WireTask = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  payload: Schema.Unknown,
  attempt: Schema.Int,
  timeoutMs: Schema.NullOr(Schema.Number)
})
export type WireTask = typeof WireTask.Type

/**
 * Runs a batch of tasks in one request (FIELD-NOTES.md: one request per task costs 165–250 µs,
 * a batch of 64 costs 16–34 µs per task). The reply has one Outcome per task, in order.
 * WorkerError is part of the failure schema so a crashed thread arrives typed, not as a
 * ParseError.
 */
export const WireOutcome = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Succeeded"), id: Schema.String, result: Schema.Unknown }),
  Schema.Struct({ _tag: Schema.Literal("Failed"), id: Schema.String, error: AttemptFailure }),
  Schema.Struct({ _tag: Schema.Literal("Abandoned"), id: Schema.String })
)
export type WireOutcome = typeof WireOutcome.Type

export class RunBatch extends Schema.TaggedRequest<RunBatch>()("RunBatch", {
  failure: WorkerError,
  success: Schema.Struct({ outcomes: Schema.Array(WireOutcome), busyMs: Schema.Number }),
  payload: { tasks: Schema.Array(WireTask) }
}) {}

/** Every request a worker thread understands. */
export const Request = Schema.Union(RunBatch)
export type Request = typeof Request.Type

/** What each thread receives as workerData (re-read on every respawn). */
export interface WorkerData {
  readonly handlersModule: string
}
