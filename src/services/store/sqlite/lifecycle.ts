import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type { NewTask } from "../../../domain/Task.js"
import { InvalidDependency, QueueFull } from "../../../domain/TaskErrors.js"
import { maxDepth, maxNodes } from "../../../domain/TaskGraph.js"
import type { TaskGraph } from "../../../domain/TaskGraph.js"
import type { TaskId } from "../../../domain/TaskId.js"
import type { TaskStatus } from "../../../domain/TaskStatus.js"
import type { Applied, Change } from "../TaskStore.js"
import { final, listed } from "./migrations.js"
import { changeColumns, toRef } from "./rows.js"
import type { RefRow } from "./rows.js"
import { chunks, from, Functions, ids, keyHead, run, to, tuple, tuples } from "./sql.js"
import type { SqlFunctions } from "./sql.js"
import type { Connection, Sql } from "./sql.js"

// Statements of lifecycle control: dependencies, cancel, pause, resume, manual retry, delete,
// retention. Each runs inside one group-commit transaction, so a cascade commits together
// with the change that caused it.


interface ChangeRow extends RefRow {
  readonly status: TaskStatus
}

const toChange = ({ status, ...row }: ChangeRow): Change => ({ ...toRef(row), status })

const perChunk = <A>(items: ReadonlyArray<A>, f: (chunk: ReadonlyArray<A>) => Sql<ReadonlyArray<ChangeRow>>): Sql<Array<Change>> =>
  Effect.map(Effect.forEach(chunks(items), f), (rows) => rows.flat().map(toChange))

/** The error a dependent records when a dependency ended without completing. */
const dependencyError = (f: SqlFunctions, dep: string) =>
  f.jsonObject(
    "'attempt'", "attempt", "'at'", "CAST(? AS BIGINT)",
    "'error'", f.jsonObject("'_tag'", "'DependencyFailed'", "'dependency'", dep, "'message'", `'dependency ' || ${dep} || ' did not complete'`)
  )

/**
 * Fails, transitively, the blocked or paused dependents of tasks that failed or were
 * cancelled, each with DependencyFailed naming the dependency it waited on.
 */
export const failDependents = (roots: ReadonlyArray<TaskId>, now: number): Sql<Array<Change>> =>
  roots.length === 0 ? Effect.succeed([]) : perChunk(roots, (chunk) => Effect.flatMap(Functions, (f) =>
    run<ChangeRow>(
      `WITH RECURSIVE down(id, dep) AS (
         SELECT task_id, dep_id FROM task_deps WHERE dep_id IN ${tuple(chunk.length)}
         UNION
         SELECT d.task_id, d.dep_id FROM task_deps d JOIN down ON d.dep_id = down.id
           JOIN tasks t ON t.id = down.id AND ${from("dependencyFailed", "t.status")}
       )
       UPDATE tasks SET status = ${to("dependencyFailed")}, finished_at = ?, updated_at = ?,
         errors = ${f.appendJson("errors", dependencyError(f, "v.dep"))}
       FROM (SELECT id, min(dep) AS dep FROM down GROUP BY id) AS v
       WHERE tasks.id = v.id AND ${from("dependencyFailed", "tasks.status")}
       RETURNING ${changeColumns.split(", ").map((c) => `tasks.${c}`).join(", ")}`,
      [...chunk, now, now, now]
    )))

/** Counts completed dependencies down; dependents left with none become pending (or delayed). */
export const unblockDependents = (completed: ReadonlyArray<TaskId>, now: number): Sql<Array<Change>> =>
  completed.length === 0 ? Effect.succeed([]) : Effect.flatMap(anyEdges, (any) => any ? unblock(completed, now) : Effect.succeed([]))

/**
 * Whether any dependency edge exists: one probe, so that a workload without dependencies pays
 * nothing more per completion (read inside the same transaction as the completion).
 */
const anyEdges: Sql<boolean> = Effect.map(run<{ readonly x: number }>("SELECT 1 AS x FROM task_deps LIMIT 1", []), (rows) => rows.length > 0)

const unblock = (completed: ReadonlyArray<TaskId>, now: number): Sql<Array<Change>> =>
  Effect.flatMap(
    Effect.forEach(chunks(completed), (chunk) =>
      run<{ readonly id: string }>(
        `UPDATE tasks SET pending_deps = pending_deps - v.n
         FROM (SELECT task_id, count(*) AS n FROM task_deps WHERE dep_id IN ${tuple(chunk.length)} GROUP BY task_id) AS v
         WHERE tasks.id = v.task_id RETURNING tasks.id`,
        chunk
      )),
    (rows) => {
      const touched = ids(rows.flat())
      return perChunk(touched, (chunk) =>
        run<ChangeRow>(
          `UPDATE tasks SET status = CASE WHEN run_at > ? THEN ${to("unblockLater")} ELSE ${to("unblock")} END,
             run_at = max(run_at, ?), updated_at = ?
           WHERE id IN ${tuple(chunk.length)} AND pending_deps = 0 AND ${from("unblock")} RETURNING ${changeColumns}`,
          [now, now, now, ...chunk]
        ))
    }
  )

/**
 * After the rows of an insert exist: records the dependency edges of the tasks it created,
 * rejects unknown dependencies, counts unfinished ones (blocked until they complete) and fails
 * at once a task whose dependency already failed or was cancelled.
 */
export const linkDependencies = (
  created: ReadonlyArray<NewTask>,
  now: number
): Effect.Effect<Map<string, TaskStatus>, SqlError | InvalidDependency, Connection> =>
  Effect.gen(function*() {
    const edges = created.flatMap((t) => [...new Set(t.dependsOn)].map((dep) => [dep, t.id] as const))
    const statuses = new Map<string, TaskStatus>()
    if (edges.length === 0) return statuses
    // Where writers run at once (PostgreSQL), the dependencies may not end between the count
    // below and this transaction's commit: a completion would not see the new edges and leave
    // the dependent blocked. Locked for share, a dependency's completion waits for the commit.
    const fn = yield* Functions
    if (fn.forShare !== null) {
      for (const chunk of chunks([...new Set(edges.map(([dep]) => dep))])) {
        yield* run(`SELECT id FROM tasks WHERE id IN ${tuple(chunk.length)}${fn.forShare}`, chunk)
      }
    }
    for (const chunk of chunks(edges)) {
      yield* run(`INSERT INTO task_deps (dep_id, task_id) VALUES ${tuples(chunk.length, 2)} ON CONFLICT DO NOTHING`, chunk.flat())
    }
    const dependents = [...new Set(edges.map(([, id]) => id))]
    for (const chunk of chunks(dependents)) {
      const unknown = yield* run<{ readonly task_id: string; readonly dep_id: string }>(
        `SELECT task_id, dep_id FROM task_deps d WHERE task_id IN ${tuple(chunk.length)}
         AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = d.dep_id) LIMIT 1`,
        chunk
      )
      if (unknown[0] !== undefined) {
        return yield* Effect.fail(new InvalidDependency({
          taskId: unknown[0].task_id,
          message: `task ${unknown[0].task_id} depends on ${unknown[0].dep_id}, which does not exist`
        }))
      }
      const rows = yield* run<{ readonly id: string; readonly status: TaskStatus; readonly dead: string | null }>(
        `UPDATE tasks SET
           pending_deps = (SELECT count(*) FROM task_deps d JOIN tasks t ON t.id = d.dep_id
                           WHERE d.task_id = tasks.id AND t.status != 'completed'),
           status = CASE
             WHEN EXISTS (SELECT 1 FROM task_deps d JOIN tasks t ON t.id = d.dep_id
                          WHERE d.task_id = tasks.id AND t.status IN ('failed', 'cancelled')) THEN 'failed'
             WHEN EXISTS (SELECT 1 FROM task_deps d JOIN tasks t ON t.id = d.dep_id
                          WHERE d.task_id = tasks.id AND t.status != 'completed') THEN 'blocked'
             ELSE status END
         WHERE id IN ${tuple(chunk.length)}
         RETURNING id, status, (SELECT min(d.dep_id) FROM task_deps d JOIN tasks t ON t.id = d.dep_id
                                WHERE d.task_id = tasks.id AND t.status IN ('failed', 'cancelled')) AS dead`,
        chunk
      )
      const dead = rows.filter((r) => r.dead !== null)
      for (const part of chunks(dead)) {
        const f = yield* Functions
        yield* run(
          `UPDATE tasks SET finished_at = ?, errors = ${f.jsonArrayOf(dependencyError(f, "v.column2"))}
           FROM (VALUES ${tuples(part.length, 2)}) AS v WHERE tasks.id = v.column1`,
          [now, now, ...part.flatMap((r) => [r.id, r.dead])]
        )
      }
      const cascade = yield* failDependents(dead.map((r) => r.id as TaskId), now)
      for (const row of rows) statuses.set(row.id, row.status)
      for (const change of cascade) statuses.set(change.id, change.status)
    }
    return statuses
  })

/** Fails with QueueFull when more than `limit` tasks are unfinished (counted via the partial indexes). */
export const checkActive = (limit: number, adding: number): Effect.Effect<void, SqlError | QueueFull, Connection> =>
  Effect.flatMap(
    run<{ readonly n: number }>(
      `SELECT (SELECT count(*) FROM tasks WHERE ${from("claim")})
        + (SELECT count(*) FROM tasks WHERE ${from("release")})
        + (SELECT count(*) FROM tasks WHERE ${from("wake")})
        + (SELECT count(*) FROM tasks WHERE status IN ('blocked', 'paused') AND ${listed.term}) AS n`,
      []
    ),
    (rows) => {
      const n = rows[0]?.n ?? 0
      return n <= limit ? Effect.void : Effect.fail(new QueueFull({
        limit,
        message: `submitting ${adding} task(s) would make ${n} unfinished tasks, over the queue's limit of ${limit}; nothing was stored`
      }))
    }
  )

const changeSet = (done: ReadonlyArray<Change>, cascade: ReadonlyArray<Change>): Applied => ({
  ids: done.map((c) => c.id),
  changes: [...done, ...cascade]
})

export const cancel = (taskIds: ReadonlyArray<TaskId>, now: number): Sql<Applied> =>
  Effect.flatMap(
    perChunk(taskIds, (chunk) =>
      run<ChangeRow>(
        `UPDATE tasks SET status = ${to("cancel")}, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           finished_at = ?, updated_at = ?
         WHERE id IN ${tuple(chunk.length)} AND ${from("cancel")} RETURNING ${changeColumns}`,
        [now, now, ...chunk]
      )),
    (done) => Effect.map(failDependents(done.map((c) => c.id), now), (cascade) => changeSet(done, cascade))
  )

export const pause = (taskIds: ReadonlyArray<TaskId>, now: number): Sql<Applied> =>
  Effect.map(
    perChunk(taskIds, (chunk) =>
      run<ChangeRow>(
        `UPDATE tasks SET status = ${to("pause")}, updated_at = ?
         WHERE id IN ${tuple(chunk.length)} AND ${from("pause")} RETURNING ${changeColumns}`,
        [now, ...chunk]
      )),
    (done) => changeSet(done, [])
  )

export const resume = (taskIds: ReadonlyArray<TaskId>, now: number): Sql<Applied> =>
  Effect.map(
    perChunk(taskIds, (chunk) =>
      run<ChangeRow>(
        `UPDATE tasks SET updated_at = ?, run_at = max(run_at, ?), status = CASE
           WHEN pending_deps > 0 THEN ${to("resumeBlocked")}
           WHEN run_at > ? THEN ${to("resumeDelayed")}
           ELSE ${to("resume")} END
         WHERE id IN ${tuple(chunk.length)} AND ${from("resume")} RETURNING ${changeColumns}`,
        [now, now, now, ...chunk]
      )),
    (done) => changeSet(done, [])
  )

export const retry = (taskIds: ReadonlyArray<TaskId>, now: number, rankOf: (priority: number) => number): Sql<Applied> =>
  Effect.map(
    Effect.forEach(chunks(taskIds), (chunk) =>
      Effect.flatMap(
        run<{ readonly id: string; readonly priority: number }>(
          `SELECT id, priority FROM tasks WHERE id IN ${tuple(chunk.length)} AND ${from("manualRetry")}`,
          chunk
        ),
        (rows) =>
          rows.length === 0 ? Effect.succeed([]) : run<ChangeRow>(
            `UPDATE tasks SET attempt = 0, run_at = ?, rank = CAST(v.column2 AS DOUBLE PRECISION), finished_at = NULL, updated_at = ?,
               status = CASE WHEN pending_deps > 0 THEN ${to("manualRetryBlocked")} ELSE ${to("manualRetry")} END
             FROM (VALUES ${tuples(rows.length, 2)}) AS v
             WHERE tasks.id = v.column1 AND ${from("manualRetry", "tasks.status")}
             RETURNING ${changeColumns.split(", ").map((c) => `tasks.${c}`).join(", ")}`,
            [now, now, ...rows.flatMap((r) => [r.id, rankOf(r.priority)])]
          )
      )),
    (rows) => changeSet(rows.flat().map(toChange), [])
  )

/** Deletes what the rows name from the side tables. */
const forget = (deleted: ReadonlyArray<TaskId>): Sql<void> =>
  Effect.forEach(chunks(deleted), (chunk) =>
    Effect.all([
      run(`DELETE FROM task_logs WHERE task_id IN ${tuple(chunk.length)}`, chunk),
      run(`DELETE FROM task_deps WHERE task_id IN ${tuple(chunk.length)}`, chunk),
      run(`DELETE FROM task_deps WHERE dep_id IN ${tuple(chunk.length)}`, chunk)
    ]), { discard: true })

export const remove = (taskIds: ReadonlyArray<TaskId>): Sql<Array<TaskId>> =>
  Effect.flatMap(
    Effect.forEach(chunks(taskIds), (chunk) =>
      run<{ readonly id: string }>(`DELETE FROM tasks WHERE id IN ${tuple(chunk.length)} AND ${final} RETURNING id`, chunk)),
    (rows) => {
      const deleted = ids(rows.flat())
      return Effect.as(forget(deleted), deleted)
    }
  )

export const purge = (before: number, limit: number): Sql<number> =>
  Effect.flatMap(
    run<{ readonly id: string }>(
      `DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE ${final} AND finished_at < ? LIMIT ?) RETURNING id`,
      [before, limit]
    ),
    (rows) =>
      Effect.as(
        Effect.zipRight(
          forget(ids(rows)),
          // Rate-limit buckets idle since then: a bucket with no row has its whole allowance, as they do.
          run("DELETE FROM rate_limits WHERE bucket IN (SELECT bucket FROM rate_limits WHERE idle_at < ? LIMIT ?)", [before, limit])
        ),
        rows.length
      )
  )

/** The oldest unfinished task of each key, where it is pending. */
export const keyHeads = (keys: ReadonlyArray<string>): Sql<Array<Change>> =>
  keys.length === 0 ? Effect.succeed([]) : perChunk(keys, (chunk) =>
    Effect.flatMap(Functions, (fn) =>
      run<ChangeRow>(
        `SELECT ${changeColumns} FROM tasks WHERE key IN ${tuple(chunk.length)} AND ${from("claim")} AND ${keyHead("tasks", fn)}`,
        chunk
      )))

/**
 * A task's dependency graph (domain/TaskGraph), walked a step at a time from the task: upstream
 * by each task's own `depends_on` (read by id), downstream by task_deps (by its dependency, the
 * primary key's first column), at most `maxDepth` steps each way, and no further once
 * `maxNodes` tasks are found, so a task with 100,000 inputs costs a page of reads, not 100,000.
 * Then each task's type and status; tasks deleted since are left out, with their edges.
 */
export const graph = (id: TaskId): Sql<TaskGraph> =>
  Effect.gen(function*() {
    const found = new Set<string>([id])
    const edges: Array<{ readonly from: TaskId; readonly to: TaskId }> = []
    let truncated = false
    const reach = (next: Array<TaskId>, other: TaskId, edge: { readonly from: TaskId; readonly to: TaskId }) => {
      if (!found.has(other)) {
        if (found.size >= maxNodes) return (truncated = true)
        found.add(other)
        next.push(other)
      }
      edges.push(edge)
      return false
    }
    let frontier: Array<TaskId> = [id]
    for (let d = 0; d < maxDepth && frontier.length > 0 && !truncated; d++) {
      const rows = yield* run<{ readonly id: TaskId; readonly depends_on: string | null }>(
        `SELECT id, depends_on FROM tasks WHERE id IN ${tuple(frontier.length)}`, frontier)
      const next: Array<TaskId> = []
      for (const row of rows) {
        for (const dep of JSON.parse(row.depends_on ?? "[]") as ReadonlyArray<TaskId>) if (reach(next, dep, { from: dep, to: row.id })) break
      }
      frontier = next
    }
    frontier = [id]
    for (let d = 0; d < maxDepth && frontier.length > 0 && !truncated; d++) {
      const rows = yield* run<{ readonly dep_id: TaskId; readonly task_id: TaskId }>(
        `SELECT dep_id, task_id FROM task_deps WHERE dep_id IN ${tuple(frontier.length)} LIMIT ?`, [...frontier, maxNodes + 1])
      const next: Array<TaskId> = []
      for (const row of rows) if (reach(next, row.task_id, { from: row.dep_id, to: row.task_id })) break
      frontier = next
    }
    const nodes = (yield* Effect.forEach(chunks([...found]), (chunk) =>
      run<{ readonly id: TaskId; readonly type: string; readonly status: TaskStatus }>(`SELECT id, type, status FROM tasks WHERE id IN ${tuple(chunk.length)}`, chunk))).flat()
    const kept = new Set(nodes.map((n) => n.id as string))
    return { nodes, edges: edges.filter((e) => kept.has(e.from) && kept.has(e.to)), truncated }
  })
