import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Claimed, NewTask, ReadyRef, Task } from "../domain/Task.js"
import type { AttemptError, StoreError, TaskNotFound } from "../domain/TaskErrors.js"
import type { TaskId } from "../domain/TaskId.js"
import type { TaskStatus } from "../domain/TaskStatus.js"

/** What `insert` reports per task: enough to schedule it. */
export interface Inserted extends ReadyRef {
  readonly status: TaskStatus
  /** False when an existing task (same id or idempotency key) was returned instead. */
  readonly created: boolean
}

/** Filter and page for `list`. Ordered by submission (seq), oldest first. */
export interface ListQuery {
  readonly status?: ReadonlyArray<TaskStatus>
  readonly type?: string
  readonly limit: number
  /** Return tasks with seq greater than this (keyset paging). */
  readonly afterSeq?: number
}

/** The lease a claim sets: one token per claim, so an older attempt's token never matches. */
export interface LeaseGrant {
  readonly owner: string
  readonly token: string
  readonly expiresAt: number
  readonly now: number
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
  readonly insert: (tasks: ReadonlyArray<NewTask>) => Effect.Effect<ReadonlyArray<Inserted>, StoreError>
  /** Reads one task. */
  readonly get: (id: TaskId) => Effect.Effect<Task, TaskNotFound | StoreError>
  /** Lists tasks by status and type, a page at a time. */
  readonly list: (query: ListQuery) => Effect.Effect<ReadonlyArray<Task>, StoreError>
  /** The best `limit` pending tasks, by rank then seq. */
  readonly ready: (limit: number) => Effect.Effect<ReadonlyArray<ReadyRef>, StoreError>
  /** Claims the listed pending tasks for one attempt each (pending → running, attempt + 1). */
  readonly claim: (ids: ReadonlyArray<TaskId>, lease: LeaseGrant) => Effect.Effect<ReadonlyArray<Claimed>, StoreError>
  /** Completes attempts (running → completed) whose token still matches. */
  readonly complete: (items: ReadonlyArray<Completion>, now: number) => Effect.Effect<ReadonlyArray<TaskId>, StoreError>
  /** Fails attempts (running → retrying | failed) whose token still matches; the error is kept. */
  readonly fail: (items: ReadonlyArray<Failure>, now: number) => Effect.Effect<ReadonlyArray<TaskId>, StoreError>
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
  /** Running tasks whose lease expired before `now` become pending, attempt count kept. */
  readonly recoverExpired: (now: number) => Effect.Effect<ReadonlyArray<TaskId>, StoreError>
  /** Number of tasks in each status. */
  readonly counts: Effect.Effect<Readonly<Record<TaskStatus, number>>, StoreError>
}>() {}
