import * as Schema from "effect/Schema"
import { RetryPolicy } from "../../../domain/RetryPolicy.js"
import { AttemptError } from "../../../domain/TaskErrors.js"
import { Lease, Task } from "../../../domain/Task.js"
import type { Claimed, Leased, NewTask, ReadyRef } from "../../../domain/Task.js"
import type { TaskId } from "../../../domain/TaskId.js"
import type { TaskStatus } from "../../../domain/TaskStatus.js"
import type { Amounts } from "../../../domain/Resources.js"

/** A `tasks` row as SQLite returns it. */
export interface TaskRow {
  readonly seq: number
  readonly id: string
  readonly type: string
  readonly payload: string
  readonly priority: number
  readonly status: string
  readonly attempt: number
  readonly retry: string
  readonly timeout_ms: number | null
  readonly run_at: number
  readonly rank: number
  readonly key: string | null
  readonly rate_key: string | null
  readonly idempotency_key: string | null
  readonly created_at: number
  readonly updated_at: number
  readonly started_at: number | null
  readonly finished_at: number | null
  readonly lease_owner: string | null
  readonly lease_token: string | null
  readonly lease_expires_at: number | null
  readonly result: string | null
  readonly errors: string
  readonly progress: number
  readonly description: string | null
  readonly depends_on: string | null
  readonly pending_deps: number
  readonly resources: string | null
  readonly trace_parent: string | null
}

/** The columns written by an insert, in order. */
export const insertColumns = [
  "id", "type", "payload", "priority", "status", "retry", "timeout_ms", "run_at", "rank", "key",
  "idempotency_key", "created_at", "updated_at", "depends_on", "resources", "trace_parent", "rate_key"
] as const

/** Resource requirements are stored as [cpu, memoryMb, gpu], or NULL for none. */
export const encodeResources = (r: Amounts | null): string | null => (r === null ? null : JSON.stringify([r.cpu, r.memoryMb, r.gpu]))
export const decodeResources = (json: string | null): Amounts | null => {
  if (json === null) return null
  const [cpu, memoryMb, gpu] = JSON.parse(json) as [number, number, number]
  return { cpu, memoryMb, gpu }
}

/**
 * Retry policies are stored compactly, as a JSON array in field order (one per row adds up:
 * the object form was five times longer).
 */
export const encodeRetry = (p: RetryPolicy): string =>
  JSON.stringify([p.maxAttempts, p.backoff === "exponential" ? 1 : 0, p.initialDelayMs, p.factor, p.maxDelayMs, p.jitter ? 1 : 0, p.priorityDecrease])

const parseRetry = (json: string): unknown => {
  const a = JSON.parse(json) as ReadonlyArray<number>
  return {
    maxAttempts: a[0],
    backoff: a[1] === 1 ? "exponential" : "fixed",
    initialDelayMs: a[2],
    factor: a[3],
    maxDelayMs: a[4],
    jitter: a[5] === 1,
    priorityDecrease: a[6]
  }
}

export const insertValues = (t: NewTask): ReadonlyArray<string | number | null> => [
  t.id, t.type, JSON.stringify(t.payload ?? null), t.priority, t.status, encodeRetry(t.retry), t.timeoutMs,
  t.runAt, t.rank, t.key, t.idempotencyKey, t.createdAt, t.createdAt,
  t.dependsOn.length === 0 ? null : JSON.stringify(t.dependsOn),
  encodeResources(t.resources),
  t.traceParent,
  t.rateKey ?? null
]

const decodeRetry = Schema.decodeUnknownSync(RetryPolicy)
const decodeErrors = Schema.decodeUnknownSync(Schema.parseJson(Schema.Array(AttemptError)))

/**
 * Parses a stored retry policy. Tasks of one type share the same JSON, so parsed policies are
 * cached per store (bounded) rather than re-validated on every claim.
 */
export const makeRetryCache = (limit = 256) => {
  const cache = new Map<string, RetryPolicy>()
  return (json: string): RetryPolicy => {
    let policy = cache.get(json)
    if (policy === undefined) {
      policy = decodeRetry(parseRetry(json))
      if (cache.size >= limit) cache.clear()
      cache.set(json, policy)
    }
    return policy
  }
}

export const toTask = (row: TaskRow, retry: (json: string) => RetryPolicy): Task =>
  new Task({
    id: row.id as TaskId,
    type: row.type,
    payload: JSON.parse(row.payload),
    priority: row.priority,
    status: row.status as TaskStatus,
    attempt: row.attempt,
    retry: retry(row.retry),
    timeoutMs: row.timeout_ms,
    runAt: row.run_at,
    rank: row.rank,
    seq: row.seq,
    key: row.key,
    ...rateKeyOf(row.rate_key),
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    lease: row.lease_token === null
      ? null
      : new Lease({ owner: row.lease_owner ?? "", token: row.lease_token, expiresAt: row.lease_expires_at ?? 0 }),
    result: row.result === null ? null : JSON.parse(row.result),
    errors: row.errors === "[]" ? [] : decodeErrors(row.errors),
    progress: row.progress,
    description: row.description,
    dependsOn: row.depends_on === null ? [] : JSON.parse(row.depends_on) as Array<TaskId>,
    pendingDeps: row.pending_deps,
    resources: decodeResources(row.resources),
    traceParent: row.trace_parent ?? null
  }, { disableValidation: true })

/** The columns a claim returns. */
export const claimColumns = "id, type, payload, priority, attempt, retry, timeout_ms, rank, created_at, run_at, key, trace_parent, depends_on"

export interface ClaimRow {
  readonly id: string
  readonly type: string
  readonly payload: string
  readonly priority: number
  readonly attempt: number
  readonly retry: string
  readonly timeout_ms: number | null
  readonly rank: number
  readonly created_at: number
  readonly run_at: number
  readonly key: string | null
  readonly trace_parent: string | null
  readonly depends_on: string | null
}

export const toClaimed = (row: ClaimRow, token: string, retry: (json: string) => RetryPolicy): Claimed => ({
  id: row.id as TaskId,
  type: row.type,
  payload: JSON.parse(row.payload),
  priority: row.priority,
  attempt: row.attempt,
  retry: retry(row.retry),
  timeoutMs: row.timeout_ms,
  rank: row.rank,
  createdAt: row.created_at,
  runAt: row.run_at,
  key: row.key,
  token,
  traceParent: row.trace_parent
})

/** The ids a claimed row depends on, in order (none: empty). */
export const dependsOnOf = (row: Pick<ClaimRow, "depends_on">): ReadonlyArray<TaskId> =>
  row.depends_on === null ? [] : JSON.parse(row.depends_on) as Array<TaskId>

/** A running attempt's row with its lease (recoveries). */
export interface LeasedRow extends ClaimRow {
  readonly lease_token: string
  readonly lease_owner: string
}

export const toLeased = (row: LeasedRow, retry: (json: string) => RetryPolicy): Leased => ({
  ...toClaimed(row, row.lease_token, retry),
  owner: row.lease_owner
})

/** The columns that describe a change (Change / ReadyRef). */
export const changeColumns = "id, type, priority, rank, seq, key, status, resources, rate_key"

/** The columns of a ReadyRef. */
export const readyColumns = "id, type, priority, rank, seq, key, resources, rate_key"

/** A ReadyRef (or Change) as a row holds it. */
export interface RefRow {
  readonly id: string
  readonly type: string
  readonly priority: number
  readonly rank: number
  readonly seq: number
  readonly key: string | null
  readonly resources: string | null
  readonly rate_key: string | null
}

/** A rate key as the domain carries it: present only when the task has one. */
export const rateKeyOf = (rateKey: string | null): { readonly rateKey?: string } => (rateKey === null ? {} : { rateKey })

/** A ReadyRef from its row. */
export const toRef = ({ rate_key, resources, ...row }: RefRow): ReadyRef => ({
  ...row,
  id: row.id as TaskId,
  resources: decodeResources(resources),
  ...rateKeyOf(rate_key)
})

/** Encodes an attempt error for the errors JSON array. */
export const encodeError = Schema.encodeSync(Schema.parseJson(AttemptError))
