import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type { Claimed, Input, NewTask } from "../../../domain/Task.js"
import type { TaskId } from "../../../domain/TaskId.js"
import * as TaskStatus from "../../../domain/TaskStatus.js"
import type { StatusChanged } from "../../events/TaskEvents.js"
import type { Applied, Completion, Ends, Failure, LeaseGrant, Release } from "../TaskStore.js"
import * as RateLimit from "../../../domain/RateLimit.js"
import * as Lifecycle from "./lifecycle.js"
import * as RateLimits from "./rateLimits.js"
import * as Rows from "./rows.js"
import { chunks, chunkSize, from, Functions, ids, keyHead, run, to, tuple, tuples } from "./sql.js"
import type { Connection, Sql } from "./sql.js"

export { from, keyHead }

// Multi-row statements, one per chunk: group commit lives or dies by statements per task.
// Status conditions come from the domain's transition table, never written by hand.

/** A row an insert actually created. */
export interface InsertedRow {
  readonly seq: number
  readonly idempotency_key: string | null
}

/**
 * Inserts, skipping ids and idempotency keys already present; returns each row actually
 * inserted by id (the others already existed). The key tells which input created the row when
 * one call repeats an id.
 */
export const insert = (tasks: ReadonlyArray<NewTask>): Effect.Effect<Map<string, InsertedRow>, SqlError, Connection> =>
  Effect.flatMap(Functions, (fn) => {
    const columnArrays = fn.columnArrays
    const statements = columnArrays === null
      ? chunks(tasks).map((chunk) =>
        run<InsertedRow & { readonly id: string }>(
          `INSERT INTO tasks (${Rows.insertColumns.join(", ")}) VALUES ${tuples(chunk.length, Rows.insertColumns.length)}
           ON CONFLICT DO NOTHING RETURNING id, seq, idempotency_key`,
          chunk.flatMap(Rows.insertValues)
        ))
      : chunks(tasks, 5000).map((chunk) => {
        // One array per column: the rows transposed.
        const rows = chunk.map(Rows.insertValues)
        return run<InsertedRow & { readonly id: string }>(
          `INSERT INTO tasks (${Rows.insertColumns.join(", ")}) ${columnArrays(Rows.insertColumns)}
           ON CONFLICT DO NOTHING RETURNING id, seq, idempotency_key`,
          Rows.insertColumns.map((_, c) => rows.map((row) => row[c] ?? null))
        )
      })
    return Effect.map(Effect.all(statements), (results) => new Map(results.flat().map((r) => [r.id, r] as const)))
  })

/**
 * Which inputs created the rows just inserted: the first one with its id and idempotency key
 * (one call may repeat an id). Every other input found an id or key already present.
 */
export const createdFlags = (tasks: ReadonlyArray<NewTask>, inserted: ReadonlyMap<string, InsertedRow>): Array<boolean> => {
  const created = new Set<string>()
  return tasks.map((t) => {
    const row = inserted.get(t.id)
    if (row === undefined || row.idempotency_key !== t.idempotencyKey || created.has(t.id)) return false
    created.add(t.id)
    return true
  })
}

/** What an insert did: the rows created, and the status of those that have dependencies. */
export interface InsertResult {
  readonly inserted: Map<string, InsertedRow>
  readonly created: ReadonlyArray<boolean>
  readonly statuses: ReadonlyMap<string, string>
}

/**
 * Inserts new tasks and links their dependencies, then checks the queue limit: a failure
 * undoes this insert alone (the group commit's savepoint), so nothing is half-written.
 */
export const insertTasks = (tasks: ReadonlyArray<NewTask>, maxActive: number | undefined) =>
  Effect.gen(function*() {
    const inserted = yield* insert(tasks)
    const created = createdFlags(tasks, inserted)
    const news = tasks.filter((_, i) => created[i])
    const statuses = yield* Lifecycle.linkDependencies(news.filter((t) => t.dependsOn.length > 0), news[0]?.createdAt ?? 0)
    if (maxActive !== undefined && news.length > 0) yield* Lifecycle.checkActive(maxActive, news.length)
    return { inserted, created, statuses } satisfies InsertResult
  })

/** Whether `insertTasks` runs one statement: one task, no dependency to link, no size limit to check. */
export const insertIsSingle = (tasks: ReadonlyArray<NewTask>, maxActive: number | undefined) =>
  tasks.length === 1 && tasks[0]!.dependsOn.length === 0 && maxActive === undefined

/**
 * The type condition of a claim that lists its ids: written so that no index on type can serve
 * it (SQLite otherwise took `tasks_type` and walked every task of the type, finished ones
 * included, per claim — 20,000 rows for a batch of 50; the ids' own index finds the few rows).
 */
const ofType = "type || '' = ?"

const claimSet = (lease: LeaseGrant) =>
  [`SET status = ${to("claim")}, attempt = attempt + 1, started_at = ?, updated_at = ?, lease_owner = ?, lease_token = ?, lease_expires_at = ?`,
    [lease.now, lease.now, lease.owner, lease.token, lease.expiresAt]] as const

/** Claims these ids, leaving out tasks of the `excluded` types. */
const claimAny = (chunk: ReadonlyArray<TaskId>, lease: LeaseGrant, excluded: ReadonlyArray<string>) =>
  Effect.flatMap(Functions, (fn) => {
    const [set, params] = claimSet(lease)
    const notExcluded = excluded.length === 0 ? "" : ` AND type NOT IN ${tuple(excluded.length)}`
    return run<Rows.ClaimRow>(
      `UPDATE tasks ${set} WHERE ${fn.claimable(`id IN ${tuple(chunk.length)} AND ${from("claim")} AND ${keyHead("tasks", fn)}${notExcluded}`)}
       RETURNING ${Rows.claimColumns}`,
      [...params, ...chunk, ...excluded]
    )
  })

/**
 * Claims these ids of one type, best first, as many as its limit leaves once every running
 * attempt of the type (on any node) is counted. Counted under the type gate, so two nodes do not
 * both take the last place.
 */
const claimLimited = (chunk: ReadonlyArray<TaskId>, lease: LeaseGrant, type: string, limit: number) =>
  Effect.flatMap(Functions, (fn) => {
    const [set, params] = claimSet(lease)
    return run<Rows.ClaimRow>(
      `UPDATE tasks ${set} WHERE id IN (
         SELECT id FROM tasks WHERE id IN ${tuple(chunk.length)} AND ${ofType} AND ${from("claim")} AND ${keyHead("tasks", fn)}
         ORDER BY rank, seq
         LIMIT (SELECT CASE WHEN count(*) >= ? THEN 0 ELSE ? - count(*) END FROM tasks WHERE type = ? AND status = ${to("claim")})${fn.skipLocked})
       RETURNING ${Rows.claimColumns}`,
      [...params, ...chunk, type, limit, limit, type]
    )
  })

/**
 * Claims these ids of one rate-limit bucket (a type, or a type's tasks of one rate key), best
 * first, as many as the bucket's allowance at `now` leaves (given its recent `starts`) — and the
 * type's concurrency limit, if it has one, once every running attempt is counted. Under the
 * bucket's gate, so two nodes do not both take the last start; the caller records what it took.
 */
const claimRated = (chunk: ReadonlyArray<TaskId>, lease: LeaseGrant, bucket: string, allowance: number, concurrency: number | undefined) =>
  Effect.gen(function*() {
    const { type, rateKey } = RateLimit.partsOf(bucket)
    let n = allowance
    if (n > 0 && concurrency !== undefined) {
      const running = yield* run<{ readonly n: number }>(`SELECT count(*) AS n FROM tasks WHERE type = ? AND status = ${to("claim")}`, [type])
      n = Math.min(n, Math.max(0, concurrency - Number(running[0]?.n ?? 0)))
    }
    if (n === 0) return []
    const fn = yield* Functions
    const [set, params] = claimSet(lease)
    const ofKey = rateKey === undefined ? "" : " AND COALESCE(rate_key, '') = ?"
    return yield* run<Rows.ClaimRow>(
      `UPDATE tasks ${set} WHERE id IN (
         SELECT id FROM tasks WHERE id IN ${tuple(chunk.length)} AND ${ofType}${ofKey} AND ${from("claim")} AND ${keyHead("tasks", fn)}
         ORDER BY rank, seq LIMIT ?${fn.skipLocked})
       RETURNING ${Rows.claimColumns}`,
      [...params, ...chunk, type, ...(rateKey === undefined ? [] : [rateKey]), n]
    )
  })

/** Claims of rate-limited buckets: their recent starts read once, claimed chunk by chunk, what was taken recorded once. */
const claimAllRated = (
  chunked: ReadonlyArray<ReadonlyArray<TaskId>>,
  lease: LeaseGrant,
  rates: ReadonlyArray<readonly [string, RateLimit.RateLimit]>
) =>
  Effect.gen(function*() {
    if (rates.length === 0) return []
    const starts = new Map((yield* RateLimits.list({ buckets: rates.map(([bucket]) => bucket) })).map((b) => [b.bucket, b.starts] as const))
    const taken = new Map<string, number>()
    const results: Array<ReadonlyArray<Rows.ClaimRow>> = []
    for (const chunk of chunked) {
      for (const [bucket, rate] of rates) {
        const before = taken.get(bucket) ?? 0
        const allowance = RateLimit.allowance(rate, RateLimit.after(rate, starts.get(bucket) ?? [], lease.now, before), lease.now)
        const rows = yield* claimRated(chunk, lease, bucket, allowance, lease.limits?.get(RateLimit.partsOf(bucket).type))
        if (rows.length > 0) taken.set(bucket, before + rows.length)
        results.push(rows)
      }
    }
    yield* RateLimits.record(rates.flatMap(([bucket, limit]) => {
      const count = taken.get(bucket)
      return count === undefined ? [] : [{ bucket, limit, starts: RateLimit.after(limit, starts.get(bucket) ?? [], lease.now, count) }]
    }))
    return results
  })

/** Whether `claim` runs one statement: no type limit to count, no rate to take from, one chunk of ids. */
export const claimIsSingle = (taskIds: ReadonlyArray<TaskId>, lease: LeaseGrant) =>
  (lease.limits?.size ?? 0) === 0 && (lease.rates?.size ?? 0) === 0 && taskIds.length <= chunkSize

/**
 * Claims the listed pending tasks that may run now (their key's head), skipping those another
 * node is claiming; of types with a limit, only what the limit leaves across nodes. When another
 * node holds a type's gate, that type's tasks are left for the next claim.
 */
export const claim = (
  taskIds: ReadonlyArray<TaskId>,
  lease: LeaseGrant,
  retry: (json: string) => Claimed["retry"]
): Effect.Effect<Array<Claimed>, SqlError, Connection> =>
  Effect.gen(function*() {
    const rates = [...(lease.rates ?? [])]
    const rated = new Set(rates.map(([bucket]) => RateLimit.partsOf(bucket).type))
    const limits = [...(lease.limits ?? [])]
    const fn = yield* Functions
    const gate = fn.typeGate
    // Whether this transaction holds the gate of every name given (always, where writers take turns).
    const holds = (names: ReadonlyArray<string>) =>
      gate === null ? Effect.succeed(true) : Effect.reduce(names, true, (ok, name) =>
        ok ? Effect.map(run<{ readonly ok: boolean }>(gate, [name]), (rows) => rows[0]?.ok === true) : Effect.succeed(false))
    // The limited types whose gate this transaction holds; a type that also has a rate limit is
    // claimed by its buckets, which count its running attempts.
    const gated = yield* Effect.filter(limits.filter(([type]) => !rated.has(type)), ([type]) => holds([type]))
    const gatedRates = yield* Effect.filter(rates, ([bucket]) => {
      const { type } = RateLimit.partsOf(bucket)
      return holds(bucket === type || lease.limits?.has(type) !== true ? [bucket] : [bucket, type])
    })
    const excluded = [...new Set([...limits.map(([type]) => type), ...rated])]
    const results: Array<ReadonlyArray<Rows.ClaimRow>> = []
    const chunked = chunks(taskIds)
    for (const chunk of chunked) {
      results.push(yield* claimAny(chunk, lease, excluded))
      for (const [type, limit] of gated) results.push(yield* claimLimited(chunk, lease, type, limit))
    }
    results.push(...yield* claimAllRated(chunked, lease, gatedRates))
    // RETURNING order is unspecified: restore the order the scheduler asked for (a repeated
    // id was claimed once and is returned once).
    const byId = new Map(results.flat().map((row) => [row.id, row] as const))
    const rows = taskIds.flatMap((id) => {
      const row = byId.get(id)
      if (row === undefined) return []
      byId.delete(id)
      return [row]
    })
    const inputs = yield* inputsOf(rows)
    return rows.map((row): Claimed => {
      const claimed = Rows.toClaimed(row, lease.token, retry)
      const deps = Rows.dependsOnOf(row)
      if (deps.length === 0) return claimed
      const missing = deps.filter((id) => !inputs.has(id))
      return { ...claimed, inputs: deps.flatMap((id) => inputs.get(id) ?? []), ...(missing.length === 0 ? {} : { missingInputs: missing }) }
    })
  })

/**
 * The results of the dependencies of claimed tasks, by id: they completed before the tasks
 * could run (a dependency that did not fails its dependents instead). Read in the claim's
 * transaction, only for tasks that have dependencies.
 */
const inputsOf = (rows: ReadonlyArray<Rows.ClaimRow>): Effect.Effect<Map<string, Input>, SqlError, Connection> => {
  const deps = [...new Set(rows.flatMap(Rows.dependsOnOf))]
  if (deps.length === 0) return Effect.succeed(new Map())
  return Effect.map(
    Effect.forEach(chunks(deps), (chunk) =>
      run<{ readonly id: string; readonly type: string; readonly result: string | null }>(
        `SELECT id, type, result FROM tasks WHERE id IN ${tuple(chunk.length)} AND status = ${to("complete")}`,
        chunk
      )),
    (found) =>
      new Map(found.flat().map((r) => [r.id, { id: r.id as TaskId, type: r.type, result: r.result === null ? null : JSON.parse(r.result) }] as const))
  )
}

const clearLease = "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"

export const complete = (items: ReadonlyArray<Completion>, now: number): Effect.Effect<Applied, SqlError, Connection> =>
  Effect.flatMap(
    Effect.forEach(chunks(items), (chunk) =>
      run<{ readonly id: string }>(
        `UPDATE tasks SET status = ${to("complete")}, result = v.column3, ${clearLease}, progress = 100,
           finished_at = ?, updated_at = ?
         FROM (VALUES ${tuples(chunk.length, 3)}) AS v
         WHERE tasks.id = v.column1 AND tasks.lease_token = v.column2 AND ${from("complete", "tasks.status")}
         RETURNING tasks.id`,
        [now, now, ...chunk.flatMap((c) => [c.id, c.token, JSON.stringify(c.result ?? null)])]
      )),
    (rows) => {
      const done = ids(rows.flat())
      return Effect.map(Lifecycle.unblockDependents(done, now), (changes) => ({ ids: done, changes }))
    }
  )

export const fail = (items: ReadonlyArray<Failure>, now: number) => {
  const retries = items.flatMap((f) => (f.next._tag === "Retry" ? [{ f, next: f.next }] : []))
  const finals = items.filter((f) => f.next._tag === "Fail")
  const retryRows = Effect.forEach(chunks(retries), (chunk) =>
    Effect.flatMap(Functions, (fn) => run<{ readonly id: string }>(
      `UPDATE tasks SET status = ${to("retry")}, errors = ${fn.appendJson("errors", "v.column3")},
         run_at = CAST(v.column4 AS BIGINT), rank = CAST(v.column5 AS DOUBLE PRECISION), priority = CAST(v.column6 AS INTEGER),
         ${clearLease}, updated_at = ?
       FROM (VALUES ${tuples(chunk.length, 7)}) AS v
       WHERE tasks.id = v.column1 AND tasks.lease_token = v.column2 AND ${from("retry", "tasks.status")}
         AND (v.column7 IS NULL OR tasks.lease_expires_at < CAST(v.column7 AS BIGINT))
       RETURNING tasks.id`,
      [now, ...chunk.flatMap(({ f, next }) => [f.id, f.token, Rows.encodeError(f.error), next.runAt, next.rank, next.priority, f.leaseExpiredBefore ?? null])]
    )))
  const finalRows = Effect.forEach(chunks(finals), (chunk) =>
    Effect.flatMap(Functions, (fn) => run<{ readonly id: string }>(
      `UPDATE tasks SET status = ${to("fail")}, errors = ${fn.appendJson("errors", "v.column3")},
         ${clearLease}, finished_at = ?, updated_at = ?
       FROM (VALUES ${tuples(chunk.length, 4)}) AS v
       WHERE tasks.id = v.column1 AND tasks.lease_token = v.column2 AND ${from("fail", "tasks.status")}
         AND (v.column4 IS NULL OR tasks.lease_expires_at < CAST(v.column4 AS BIGINT))
       RETURNING tasks.id`,
      [now, now, ...chunk.flatMap((f) => [f.id, f.token, Rows.encodeError(f.error), f.leaseExpiredBefore ?? null])]
    )))
  return Effect.flatMap(Effect.zip(retryRows, finalRows), ([a, b]): Effect.Effect<Applied, SqlError, Connection> => {
    const failed = ids(b.flat())
    return Effect.map(
      Lifecycle.failDependents(failed, now),
      (changes) => ({ ids: [...ids(a.flat()), ...failed], changes })
    )
  })
}

export const release = (items: ReadonlyArray<Release>, now: number) =>
  Effect.map(
    Effect.forEach(chunks(items), (chunk) =>
      run<{ readonly id: string }>(
        `UPDATE tasks SET status = ${to("release")}, attempt = attempt - CAST(v.column3 AS INTEGER), ${clearLease}, updated_at = ?
         FROM (VALUES ${tuples(chunk.length, 3)}) AS v
         WHERE tasks.id = v.column1 AND tasks.lease_token = v.column2 AND ${from("release", "tasks.status")}
         RETURNING tasks.id`,
        [now, ...chunk.flatMap((r) => [r.id, r.token, r.countAttempt ? 0 : 1])]
      )),
    (rows) => ids(rows.flat())
  )

/** Only a claimed (running) attempt holds a lease to extend. */
export const extendLeases = (items: ReadonlyArray<{ readonly id: TaskId; readonly token: string }>, expiresAt: number) =>
  Effect.map(
    Effect.forEach(chunks(items), (chunk) =>
      run<{ readonly id: string }>(
        `UPDATE tasks SET lease_expires_at = ?
         FROM (VALUES ${tuples(chunk.length, 2)}) AS v
         WHERE tasks.id = v.column1 AND tasks.lease_token = v.column2 AND tasks.status = ${to("claim")}
         RETURNING tasks.id`,
        [expiresAt, ...chunk.flatMap((i) => [i.id, i.token])]
      )),
    (rows) => ids(rows.flat())
  )

export const wakeDue = (now: number) =>
  Effect.map(
    run<{ readonly id: string }>(
      `UPDATE tasks SET status = ${to("wake")}, updated_at = ? WHERE ${from("wake")} AND run_at <= ? RETURNING id`,
      [now, now]
    ),
    (rows) => rows.length
  )

const leasedColumns = `${Rows.claimColumns}, lease_token, lease_owner`

/** Running attempts leased by these owners. */
export const leasesOf = (owners: ReadonlyArray<string>, retry: (json: string) => Claimed["retry"]) =>
  Effect.map(
    Effect.forEach(chunks(owners), (chunk) =>
      run<Rows.LeasedRow>(
        `SELECT ${leasedColumns} FROM tasks WHERE ${from("release")} AND lease_owner IN ${tuple(chunk.length)} ORDER BY seq`,
        chunk
      )),
    (rows) => rows.flat().map((row) => Rows.toLeased(row, retry))
  )

/** Running attempts whose lease expired before `now`. */
export const expiredLeases = (now: number, retry: (json: string) => Claimed["retry"]) =>
  Effect.map(
    run<Rows.LeasedRow>(
      `SELECT ${leasedColumns} FROM tasks WHERE ${from("release")} AND lease_expires_at < ? ORDER BY seq`,
      [now]
    ),
    (rows) => rows.map((row) => Rows.toLeased(row, retry))
  )

/** The status of those of these tasks that exist. */
export const endsAmong = (taskIds: ReadonlyArray<TaskId>): Sql<Ends> =>
  Effect.map(
    Effect.forEach(chunks(taskIds), (chunk) =>
      // Only the ids that ended or do not exist come back: a poll over thousands of waiting
      // tasks reads no row for those still waiting.
      run<{ readonly id: TaskId; readonly type: string | null; readonly status: TaskStatus.TaskStatus | null; readonly updated_at: number | null }>(
        `WITH wanted (id) AS (VALUES ${tuples(chunk.length, 1)})
         SELECT wanted.id AS id, tasks.type AS type, tasks.status AS status, tasks.updated_at AS updated_at
         FROM wanted LEFT JOIN tasks ON tasks.id = wanted.id
         WHERE tasks.id IS NULL OR tasks.status IN ${tuple(TaskStatus.finals.length)}`,
        [...chunk, ...TaskStatus.finals]
      )),
    (rows) => {
      const ended: Array<StatusChanged> = []
      const missing: Array<TaskId> = []
      for (const r of rows.flat()) {
        if (r.status === null || r.type === null || r.updated_at === null) missing.push(r.id)
        else ended.push({ _tag: "StatusChanged", id: r.id, type: r.type, status: r.status, at: r.updated_at })
      }
      return { ended, missing }
    }
  )
