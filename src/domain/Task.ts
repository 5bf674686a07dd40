import * as Schema from "effect/Schema"
import { Priority } from "./Priority.js"
import type { Amounts } from "./Resources.js"
import { RetryPolicy } from "./RetryPolicy.js"
import { AttemptError } from "./TaskErrors.js"
import { TaskId } from "./TaskId.js"
import { TaskStatus } from "./TaskStatus.js"

/** The lease an attempt holds on a running task; every change for that attempt presents the token. */
export class Lease extends Schema.Class<Lease>("Lease")({
  owner: Schema.String,
  token: Schema.String,
  expiresAt: Schema.Number
}) {}

/** One submitted unit of work, as the store keeps it. Payload and result stay Schema-encoded. */
export class Task extends Schema.Class<Task>("Task")({
  id: TaskId,
  type: Schema.String,
  payload: Schema.Unknown,
  priority: Priority,
  status: TaskStatus,
  /** Attempts started so far. */
  attempt: Schema.Int,
  retry: RetryPolicy,
  timeoutMs: Schema.NullOr(Schema.Number),
  /** When the task may (next) run, epoch ms. */
  runAt: Schema.Number,
  /** Scheduling rank: lower runs first; encodes priority and aging (see Rank.ts). */
  rank: Schema.Number,
  /** Submission order, strictly increasing per store. */
  seq: Schema.Number,
  key: Schema.NullOr(Schema.String),
  /** The allowance it counts in when its type's rate limit is per key. */
  rateKey: Schema.optionalWith(Schema.String, { exact: true }),
  idempotencyKey: Schema.NullOr(Schema.String),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  startedAt: Schema.NullOr(Schema.Number),
  finishedAt: Schema.NullOr(Schema.Number),
  lease: Schema.NullOr(Lease),
  result: Schema.Unknown,
  errors: Schema.Array(AttemptError),
  progress: Schema.Number,
  description: Schema.NullOr(Schema.String),
  /** Tasks that must complete before this one runs. */
  dependsOn: Schema.Array(TaskId),
  /** Of those, how many have not completed yet. */
  pendingDeps: Schema.Int,
  /** What it needs while it runs (the ResourceGovernor's budget); null: nothing declared. */
  resources: Schema.NullOr(Schema.Struct({ cpu: Schema.Number, memoryMb: Schema.Number, gpu: Schema.Number })),
  /** The W3C traceparent of the submit (telemetry on): each dispatch continues that trace. */
  traceParent: Schema.NullOr(Schema.String)
}) {}

/** What the client hands the store for one new task. */
export interface NewTask {
  readonly id: TaskId
  readonly type: string
  readonly payload: unknown
  readonly priority: Priority
  readonly status: "pending" | "delayed"
  readonly retry: RetryPolicy
  readonly timeoutMs: number | null
  readonly runAt: number
  readonly rank: number
  readonly key: string | null
  /** The allowance it counts in when its type's rate limit is per key. */
  readonly rateKey?: string
  readonly idempotencyKey: string | null
  readonly createdAt: number
  /** Tasks that must complete first (the store makes the task `blocked` until they have). */
  readonly dependsOn: ReadonlyArray<TaskId>
  /** What it needs while it runs; null: nothing declared. */
  readonly resources: Amounts | null
  /** The submit's W3C traceparent when tracing is on; null otherwise. */
  readonly traceParent: string | null
}

/** A ready task as the scheduler's mailbox holds it: just enough to order and dispatch it. */
export interface ReadyRef {
  readonly id: TaskId
  readonly type: string
  readonly priority: number
  readonly rank: number
  readonly seq: number
  /** Actor key: the store offers only the oldest unfinished task of a key as ready. */
  readonly key: string | null
  /** The allowance it counts in when its type's rate limit is per key. */
  readonly rateKey?: string
  /** What it needs while it runs (admission by the ResourceGovernor); null: nothing. */
  readonly resources: Amounts | null
}

/** A task claimed for an attempt, as it is handed to an executor. */
export interface Claimed {
  readonly id: TaskId
  readonly type: string
  readonly payload: unknown
  readonly priority: number
  readonly attempt: number
  readonly retry: RetryPolicy
  readonly timeoutMs: number | null
  readonly rank: number
  readonly createdAt: number
  readonly runAt: number
  readonly key: string | null
  readonly token: string
  /**
   * The W3C traceparent the attempt continues: the submit's as stored, replaced by the
   * dispatch span's when the scheduler traces (the attempt's span is its child).
   */
  readonly traceParent: string | null
  /**
   * The results of the tasks it depends on (all completed before it could run), in the order
   * of its `dependsOn`; absent when it has none. A dependency deleted since is left out.
   */
  readonly inputs?: ReadonlyArray<Input>
  /** Dependencies whose results are no longer stored (deleted, or purged by retention since they completed). */
  readonly missingInputs?: ReadonlyArray<TaskId>
}

/** A dependency's result, as a claim hands it to the handler (still encoded). */
export interface Input {
  readonly id: TaskId
  readonly type: string
  readonly result: unknown
}

/** A running attempt as a lease recovery finds it: the claim, and who holds its lease. */
export interface Leased extends Claimed {
  readonly owner: string
}
