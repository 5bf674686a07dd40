import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { Log } from "../../domain/Activity.js"
import type { RateLimit, Starts } from "../../domain/RateLimit.js"
import type { NodeRow } from "../../domain/Node.js"
import type { Claimed, Leased, NewTask, ReadyRef, Task } from "../../domain/Task.js"
import type { TaskGraph } from "../../domain/TaskGraph.js"
import type { AttemptError, InvalidDependency, QueueFull, StoreError, TaskNotFound } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskStatus } from "../../domain/TaskStatus.js"
import type { StatusChanged } from "../events/TaskEvents.js"
import type { ScheduleRow } from "./sqlite/schedules.js"

/** What `insert` reports per task: enough to schedule it. */
export interface Inserted extends ReadyRef {
  readonly status: TaskStatus
  /** False when an existing task (same id or idempotency key) was returned instead. */
  readonly created: boolean
}

/** A task whose status a write changed: enough to publish the change and schedule the task. */
/** What a read of awaited tasks found: the ones that ended, and the ones that do not exist. */
export interface Ends {
  readonly ended: ReadonlyArray<StatusChanged>
  readonly missing: ReadonlyArray<TaskId>
}

export interface Change extends ReadyRef {
  readonly status: TaskStatus
}

/**
 * What a write did: the listed tasks that changed (`ids`, those whose status and token
 * allowed it), and what followed in the same transaction — dependents unblocked or failed.
 */
export interface Applied {
  readonly ids: ReadonlyArray<TaskId>
  readonly changes: ReadonlyArray<Change>
}

export interface InsertOptions {
  /** Fail with QueueFull rather than hold more than this many unfinished tasks. */
  readonly maxActive?: number
}

/** Counts by status, type and priority (one row per combination present). */
export interface CountRow {
  readonly status: TaskStatus
  readonly type: string
  readonly priority: number
  readonly count: number
}

/** Where dispatching is paused: the whole queue, or task types. */
export interface Pauses {
  readonly queue: boolean
  readonly types: ReadonlyArray<string>
}

/** Filter and page for `list`. Ordered by submission (seq), oldest first unless `newestFirst`. */
export interface ListQuery {
  readonly status?: ReadonlyArray<TaskStatus>
  readonly type?: string
  /** Tasks of this actor key. */
  readonly key?: string
  /** Tasks whose id starts with this. */
  readonly idPrefix?: string
  readonly limit: number
  /** Return tasks with seq greater than this (keyset paging, oldest first). */
  readonly afterSeq?: number
  /** Newest first; with `beforeSeq`, the tasks with seq less than it (keyset paging). */
  readonly newestFirst?: boolean
  readonly beforeSeq?: number
}

/** The lease a claim sets: one token per claim, so an older attempt's token never matches. */
export interface LeaseGrant {
  readonly owner: string
  readonly token: string
  readonly expiresAt: number
  readonly now: number
  /**
   * Concurrency limits of types among the ids: of each such type the claim takes, best first,
   * only as many as the limit leaves once every node's running attempts are counted.
   */
  readonly limits?: ReadonlyMap<string, number>
  /**
   * Rate limits of buckets among the ids (domain/RateLimit: a type, or `type/key` per rate key):
   * of each bucket the claim takes, best first, only as many as its allowance at `now` leaves,
   * and records what it took, in the same transaction.
   */
  readonly rates?: ReadonlyMap<string, RateLimit>
}

/** A rate-limit bucket as the store holds it: the limit it was last claimed under, and its recent starts. */
export interface RateBucket {
  readonly bucket: string
  readonly type: string
  readonly rateKey: string | null
  readonly limit: RateLimit
  readonly starts: Starts
}

/** One attempt's success, presented with its lease token. */
export interface Completion {
  readonly id: TaskId
  readonly token: string
  readonly result: unknown
}

/** One attempt's failure, with what comes next: a retry at `runAt`, or the end. */
export interface Failure {
  readonly id: TaskId
  readonly token: string
  /**
   * Only if the lease expired before this (a recovery): a lease renewed since it was read is
   * left alone, with its attempt.
   */
  readonly leaseExpiredBefore?: number
  readonly error: AttemptError
  readonly next:
    | { readonly _tag: "Retry"; readonly runAt: number; readonly rank: number; readonly priority: number }
    | { readonly _tag: "Fail" }
}

/** Give a running attempt back (shutdown): the task is pending again, its attempt count kept. */
export interface Release {
  readonly id: TaskId
  readonly token: string
  /** Whether the interrupted attempt counts toward maxAttempts. */
  readonly countAttempt: boolean
}

/**
 * The persistence contract. The store is the source of truth: every method that changes a
 * task checks the transition against src/domain/Transition and, for a running attempt, its
 * lease token; nothing returns before its change is durable (stores group-commit writes).
 * Batch methods return the ids that actually changed: a stale token or a task that moved on
 * is left out, never overwritten.
 */
export class TaskStore extends Context.Tag("troupe/TaskStore")<TaskStore, {
  /**
   * Inserts new tasks, one result per input in order; an id or idempotency key already present
   * yields the existing task instead of a new one.
   */
  readonly insert: (
    tasks: ReadonlyArray<NewTask>,
    options?: InsertOptions
  ) => Effect.Effect<ReadonlyArray<Inserted>, StoreError | QueueFull | InvalidDependency>
  /** Reads one task. */
  readonly get: (id: TaskId) => Effect.Effect<Task, TaskNotFound | StoreError>
  /** Of these tasks, those that ended (as status changes) and those that do not exist: one read for many waiters. */
  readonly endsAmong: (ids: ReadonlyArray<TaskId>) => Effect.Effect<Ends, StoreError>
  /** Lists tasks by status and type, a page at a time. */
  readonly list: (query: ListQuery) => Effect.Effect<ReadonlyArray<Task>, StoreError>
  /**
   * The best `limit` pending tasks, by rank then seq, leaving out `excludeTypes` and every
   * task of an actor key but the key's oldest unfinished one.
   */
  readonly ready: (
    limit: number,
    excludeTypes?: ReadonlyArray<string>,
    /** Rate-limit buckets per key (`type/key`) to leave out: those tasks only, not their type's others. */
    excludeBuckets?: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<ReadyRef>, StoreError>
  /** The oldest unfinished task of each key, where it is pending (it may run now). */
  readonly keyHeads: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ReadyRef>, StoreError>
  /** A task's dependencies upstream and downstream, with their statuses (empty for no such task). */
  readonly graph: (id: TaskId) => Effect.Effect<TaskGraph, StoreError>
  /** Claims the listed pending tasks for one attempt each (pending → running, attempt + 1). */
  readonly claim: (ids: ReadonlyArray<TaskId>, lease: LeaseGrant) => Effect.Effect<ReadonlyArray<Claimed>, StoreError>
  /**
   * Completes attempts (running → completed) whose token still matches; in the same
   * transaction, dependents whose last dependency this was become pending (or delayed).
   */
  readonly complete: (items: ReadonlyArray<Completion>, now: number) => Effect.Effect<Applied, StoreError>
  /**
   * Fails attempts (running → retrying | failed) whose token still matches; the error is kept.
   * A final failure fails its dependents with DependencyFailed, transitively, in the same
   * transaction.
   */
  readonly fail: (items: ReadonlyArray<Failure>, now: number) => Effect.Effect<Applied, StoreError>
  /**
   * Cancels tasks in any unfinished status (a running attempt loses its lease); dependents
   * fail with DependencyFailed, transitively, in the same transaction.
   */
  readonly cancel: (ids: ReadonlyArray<TaskId>, now: number) => Effect.Effect<Applied, StoreError>
  /** Pauses waiting tasks (pending, blocked, delayed, retrying); they keep rank and seq. */
  readonly pause: (ids: ReadonlyArray<TaskId>, now: number) => Effect.Effect<Applied, StoreError>
  /** Resumes paused tasks to where they belong now: blocked, delayed or pending. */
  readonly resume: (ids: ReadonlyArray<TaskId>, now: number) => Effect.Effect<Applied, StoreError>
  /** Retries failed or cancelled tasks by hand: pending again with a fresh attempt budget. */
  readonly retry: (ids: ReadonlyArray<TaskId>, now: number, rankOf: (priority: number) => number) => Effect.Effect<Applied, StoreError>
  /** Deletes final tasks with their logs; returns the ids deleted. */
  readonly remove: (ids: ReadonlyArray<TaskId>) => Effect.Effect<ReadonlyArray<TaskId>, StoreError>
  /** Folds the maintained counts (the leading node, now and then); they read the same after. */
  readonly compactCounts: Effect.Effect<void, StoreError>
  /** Final tasks that finished before `before` are deleted with their logs; returns how many. */
  readonly purge: (before: number, limit: number) => Effect.Effect<number, StoreError>
  /** Gives running attempts back (running → pending) whose token still matches. */
  readonly release: (items: ReadonlyArray<Release>, now: number) => Effect.Effect<ReadonlyArray<TaskId>, StoreError>
  /** Extends the leases of attempts whose token still matches. */
  readonly extendLeases: (
    items: ReadonlyArray<{ readonly id: TaskId; readonly token: string }>,
    expiresAt: number
  ) => Effect.Effect<ReadonlyArray<TaskId>, StoreError>
  /** Delayed and retrying tasks whose run-at has come become pending; returns how many. */
  readonly wakeDue: (now: number) => Effect.Effect<number, StoreError>
  /** The earliest run-at among delayed and retrying tasks. */
  readonly nextWakeAt: Effect.Effect<Option.Option<number>, StoreError>
  /** The distinct owners of the leases of running tasks. */
  readonly leaseOwners: Effect.Effect<ReadonlyArray<string>, StoreError>
  /**
   * The running attempts leased by these owners (gone processes), with their tokens: the
   * scheduler ends each through the retry decision (`fail`), so they count.
   */
  readonly leasesOf: (owners: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Leased>, StoreError>
  /** The running attempts whose lease expired before `now`, with their tokens (as `leasesOf`). */
  readonly expiredLeases: (now: number) => Effect.Effect<ReadonlyArray<Leased>, StoreError>
  /** Number of tasks in each status. */
  readonly counts: Effect.Effect<Readonly<Record<TaskStatus, number>>, StoreError>
  /** Number of tasks by status, type and priority. */
  readonly countRows: Effect.Effect<ReadonlyArray<CountRow>, StoreError>
  /** When the longest-waiting pending task became ready (its run-at), leaving out `excludeTypes`. */
  readonly oldestReadyAt: (excludeTypes?: ReadonlyArray<string>) => Effect.Effect<Option.Option<number>, StoreError>
  /**
   * Appends log lines, in order, keeping at most `cap` per task: the first line past the cap is
   * replaced by one truncation marker and later ones are dropped. Returns the lines stored.
   */
  readonly appendLogs: (lines: ReadonlyArray<Log>, cap: number) => Effect.Effect<ReadonlyArray<Log>, StoreError>
  /** A task's stored log lines in order (attempt, then line number). */
  readonly logs: (id: TaskId) => Effect.Effect<ReadonlyArray<Log>, StoreError>
  /** Records the latest progress of running attempts (coalesced by the caller). */
  readonly setProgress: (
    items: ReadonlyArray<{ readonly id: TaskId; readonly percent: number; readonly description: string | null }>
  ) => Effect.Effect<void, StoreError>
  /** Where dispatching is paused. */
  readonly pauses: Effect.Effect<Pauses, StoreError>
  /** Pauses or resumes dispatching for the queue (type undefined) or one task type. */
  readonly setPaused: (scope: { readonly type?: string }, paused: boolean, now: number) => Effect.Effect<void, StoreError>
  /** Records a node's heartbeat with what it reports (the first one registers the node). */
  readonly beat: (owner: string, startedAt: number, now: number, info: string) => Effect.Effect<void, StoreError>
  /** Every registered node with its last heartbeat, oldest first. */
  readonly nodes: Effect.Effect<ReadonlyArray<NodeRow>, StoreError>
  /** Forgets nodes: one that stopped cleanly, or a dead one whose attempts were recovered. */
  readonly removeNodes: (owners: ReadonlyArray<string>) => Effect.Effect<void, StoreError>
  /**
   * Rate-limit buckets by name: these, or the `limit` first of those with starts still counting
   * at `busyAt` (the others have their whole allowance).
   */
  readonly rateBuckets: (
    filter: { readonly buckets: ReadonlyArray<string> } | { readonly busyAt: number; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<RateBucket>, StoreError>
  /** Stores a schedule, replacing one of the same name. */
  readonly putSchedule: (row: ScheduleRow) => Effect.Effect<void, StoreError>
  /** Removes a schedule; false when there was none of that name. */
  readonly removeSchedule: (name: string) => Effect.Effect<boolean, StoreError>
  /** Every schedule, by name. */
  readonly schedules: Effect.Effect<ReadonlyArray<ScheduleRow>, StoreError>
  /** Moves a schedule's next occurrence from `from` to `to`; false when another process moved it first. */
  readonly advanceSchedule: (name: string, from: number, to: number) => Effect.Effect<boolean, StoreError>
  /**
   * What processes sharing the store said after a write (PostgreSQL's LISTEN/NOTIFY, every
   * node's, this one's included; on SQLite it never emits: processes on one file poll):
   * `ready`, work may be ready now (a submit, a completion, a retry, a release, a resume): the
   * scheduler reads the store at once rather than at its next poll; `timer`, a task will be due
   * later (a delayed submit, a retry after backoff, a dependent unblocked before its run-at):
   * the wake-up timer looks again; `control`, a
   * task was cancelled or a pause gate changed: a node running the task finds out at once rather
   * than at its next lease heartbeat, and every node reads the gates again. Each kind wakes only
   * what it concerns: at idle, a submit's path to its start runs no query it does not need.
   */
  readonly signals: Stream.Stream<StoreSignal>
}>() {}

/** What a write tells the other processes sharing the store (see `TaskStore.signals`). */
export type StoreSignal = "ready" | "timer" | "control"

/** What a submit tells: work ready now, or due later (blocked tasks wait for their dependencies' ends). */
export const submitSignals = (tasks: ReadonlyArray<{ readonly status: NewTask["status"] }>): ReadonlyArray<StoreSignal> => [
  ...(tasks.some((t) => t.status === "pending") ? ["ready" as const] : []),
  ...(tasks.some((t) => t.status === "delayed") ? ["timer" as const] : [])
]

/** The marker that replaces the first log line past a task's cap. */
export const truncationMarker = (cap: number) =>
  `log truncated: this task reached its cap of ${cap} lines; later lines are dropped`
