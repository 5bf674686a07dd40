import { WorkerError } from "@effect/platform/WorkerError"
import * as Schema from "effect/Schema"
import * as Activity from "../domain/Activity.js"
import type { Claimed } from "../domain/Task.js"
import { AttemptFailure } from "../domain/TaskErrors.js"
import { FinishedSpanWire } from "../domain/Trace.js"

// Wire shapes are plain Structs of already-validated data (no branded ids, no classes):
// they cross the boundary once per task, and class decoding costs several times more.

/** One task as it crosses into a worker thread: only encoded data. */
export const WireTask = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  payload: Schema.Unknown,
  attempt: Schema.Int,
  timeoutMs: Schema.NullOr(Schema.Number),
  priority: Schema.Number,
  /** The dispatch span's W3C traceparent when tracing is on: the attempt's span is its child. */
  trace: Schema.NullOr(Schema.String),
  /** Its dependencies' results (`ctx.dependency`), in the order of its `dependsOn`; absent when none. */
  inputs: Schema.optionalWith(Schema.Array(Schema.Struct({ id: Schema.String, type: Schema.String, result: Schema.Unknown })), { exact: true }),
  /** Dependencies whose results are no longer stored. */
  missingInputs: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
})
export type WireTask = typeof WireTask.Type

/** A claimed task as it goes to an executor. */
export const wireTask = (t: Claimed): WireTask => ({
  id: t.id,
  type: t.type,
  payload: t.payload,
  attempt: t.attempt,
  timeoutMs: t.timeoutMs,
  priority: t.priority,
  trace: t.traceParent,
  ...(t.inputs === undefined ? {} : { inputs: t.inputs }),
  ...(t.missingInputs === undefined ? {} : { missingInputs: t.missingInputs })
})

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
  success: Schema.Struct({
    outcomes: Schema.Array(WireOutcome),
    busyMs: Schema.Number,
    /**
     * The last activity chunk flushed before this reply (0: none): the pool waits until it has
     * delivered that chunk, so a task's lines reach the sink before its outcome.
     */
    activitySeq: Schema.Number
  }),
  payload: {
    /** The pool's number for this request; the thread writes it to its shared state per task. */
    batch: Schema.Number,
    tasks: Schema.Array(WireTask)
  }
}) {}

/**
 * Interrupts these tasks if they run on this thread now, and skips them if they wait in a batch
 * here. Served at once: it does not wait for the batch in progress.
 */
export class Cancel extends Schema.TaggedRequest<Cancel>()("Cancel", {
  failure: WorkerError,
  success: Schema.Void,
  payload: { ids: Schema.Array(Schema.String) }
}) {}

/**
 * One flush of a thread's activity outbox: progress (coalesced) and log lines, in order, and
 * the spans that ended in the thread since the last flush (tracing on), for the main thread to
 * export.
 */
export const ActivityChunk = Schema.Struct({
  seq: Schema.Number,
  items: Schema.Array(Activity.Activity),
  spans: Schema.optional(Schema.Array(FinishedSpanWire))
})
export type ActivityChunk = typeof ActivityChunk.Type

/**
 * The thread's one long-lived activity channel, opened by the pool right after the thread
 * starts: a stream of chunks that ends with the thread (FIELD-NOTES.md: no Stream per task).
 */
export class OpenActivity extends Schema.TaggedRequest<OpenActivity>()("OpenActivity", {
  failure: WorkerError,
  success: ActivityChunk,
  payload: {}
}) {}

/** Every request a worker thread understands. */
export const Request = Schema.Union(RunBatch, Cancel, OpenActivity)
export type Request = typeof Request.Type

/** What each thread receives as workerData (re-read on every respawn). */
export interface WorkerData {
  /** Handlers modules, merged (src/workers/HandlersModules.ts). */
  readonly handlersModules: ReadonlyArray<string>
  /** The thread's shared state (src/workers/ThreadState.ts), read by the pool's watchdog. */
  readonly state?: SharedArrayBuffer
  /** Record attempt spans in the thread and forward them (telemetry on); nothing otherwise. */
  readonly tracing?: boolean
}
