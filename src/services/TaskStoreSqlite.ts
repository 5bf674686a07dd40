import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { ReadyRef } from "../domain/Task.js"
import { StoreError, TaskNotFound } from "../domain/TaskErrors.js"
import type { TaskId } from "../domain/TaskId.js"
import * as TaskStatus from "../domain/TaskStatus.js"
import * as GroupCommit from "./sqlite/GroupCommit.js"
import { migrate } from "./sqlite/migrations.js"
import * as Rows from "./sqlite/rows.js"
import * as Statements from "./sqlite/statements.js"
import { TaskStore } from "./TaskStore.js"
import type { Inserted } from "./TaskStore.js"

export interface SqliteOptions {
  /** The database file (created if missing). */
  readonly filename: string
  /** "normal": WAL + synchronous=NORMAL (survives process crashes); "full": also power loss. */
  readonly durability?: "normal" | "full"
}

const storeError = (e: SqlError) =>
  new StoreError({ message: `SQLite: ${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}`, cause: e.cause })

/** The SQLite TaskStore over an open SqlClient: migrations, then reads direct, writes group-committed. */
export const makeSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* migrate.pipe(Effect.mapError(storeError))
  const group = yield* GroupCommit.make
  const retry = Rows.makeRetryCache()
  const read = <A>(effect: Effect.Effect<A, SqlError>) => Effect.mapError(effect, storeError)
  const selectTasks = (where: string, params: ReadonlyArray<string | number>) =>
    read(sql.unsafe<Rows.TaskRow>(`SELECT * FROM tasks WHERE ${where}`, params as Array<string | number>)).pipe(
      Effect.map((rows) => rows.map((row) => Rows.toTask(row, retry)))
    )

  return TaskStore.of({
    insert: (tasks) =>
      Effect.gen(function*() {
        if (tasks.length === 0) return []
        const inserted = yield* group.write(Statements.insert(tasks))
        // Rows just inserted are described from the input; an id or idempotency key that was
        // already present yields the existing task, read back.
        const existing = tasks.filter((t) => !inserted.has(t.id))
        const byId = new Map<string, Inserted>()
        const byKey = new Map<string, Inserted>()
        for (let i = 0; i < existing.length; i += 400) {
          const chunk = existing.slice(i, i + 400)
          const keys = chunk.flatMap((t) => (t.idempotencyKey === null ? [] : [t.idempotencyKey]))
          const rows = yield* read(sql.unsafe<Omit<Inserted, "created"> & { readonly idempotency_key: string | null }>(
            `SELECT id, type, status, priority, rank, seq, idempotency_key FROM tasks WHERE id IN (${chunk.map(() => "?").join(", ")})` +
              (keys.length > 0 ? ` OR idempotency_key IN (${keys.map(() => "?").join(", ")})` : ""),
            [...chunk.map((t) => t.id), ...keys]
          ))
          for (const { idempotency_key, ...row } of rows) {
            const found: Inserted = { ...row, created: false }
            byId.set(row.id, found)
            if (idempotency_key !== null) byKey.set(idempotency_key, found)
          }
        }
        return yield* Effect.forEach(tasks, (t): Effect.Effect<Inserted, StoreError> => {
          const seq = inserted.get(t.id)
          if (seq !== undefined) {
            return Effect.succeed({ id: t.id, type: t.type, status: t.status, priority: t.priority, rank: t.rank, seq, created: true })
          }
          const found = (t.idempotencyKey === null ? undefined : byKey.get(t.idempotencyKey)) ?? byId.get(t.id)
          return found === undefined
            ? Effect.fail(new StoreError({ message: `task ${t.id} was neither inserted nor found` }))
            : Effect.succeed(found)
        })
      }),
    get: (id) =>
      Effect.flatMap(selectTasks("id = ?", [id]), (tasks) =>
        tasks[0] === undefined ? Effect.fail(new TaskNotFound({ taskId: id })) : Effect.succeed(tasks[0])),
    list: (query) => {
      const where: Array<string> = []
      const params: Array<string | number> = []
      if (query.status !== undefined) {
        if (query.status.length === 0) return Effect.succeed([])
        where.push(`status IN (${query.status.map(() => "?").join(", ")})`)
        params.push(...query.status)
      }
      if (query.type !== undefined) {
        where.push("type = ?")
        params.push(query.type)
      }
      if (query.afterSeq !== undefined) {
        where.push("seq > ?")
        params.push(query.afterSeq)
      }
      params.push(Math.max(0, Math.floor(query.limit)))
      return selectTasks(`${where.length > 0 ? where.join(" AND ") : "1 = 1"} ORDER BY seq LIMIT ?`, params)
    },
    ready: (limit) =>
      read(sql.unsafe<ReadyRef & { readonly id: TaskId }>(
        "SELECT id, type, priority, rank, seq FROM tasks WHERE status = 'pending' ORDER BY rank, seq LIMIT ?",
        [limit]
      )),
    claim: (ids, lease) =>
      ids.length === 0 ? Effect.succeed([]) : group.write(Statements.claim(ids, lease, retry)),
    complete: (items, now) => items.length === 0 ? Effect.succeed([]) : group.write(Statements.complete(items, now)),
    fail: (items, now) => items.length === 0 ? Effect.succeed([]) : group.write(Statements.fail(items, now)),
    release: (items, now) => items.length === 0 ? Effect.succeed([]) : group.write(Statements.release(items, now)),
    extendLeases: (items, expiresAt) =>
      items.length === 0 ? Effect.succeed([]) : group.write(Statements.extendLeases(items, expiresAt)),
    wakeDue: (now) => group.write(Statements.wakeDue(now)),
    nextWakeAt: read(sql.unsafe<{ readonly next: number | null }>(
      `SELECT min(run_at) AS next FROM tasks WHERE ${Statements.from("wake")}`
    )).pipe(Effect.map((rows) => Option.fromNullable(rows[0]?.next))),
    recoverExpired: (now) => group.write(Statements.recoverExpired(now)),
    counts: read(sql.unsafe<{ readonly status: TaskStatus.TaskStatus; readonly n: number }>(
      "SELECT status, count(*) AS n FROM tasks GROUP BY status"
    )).pipe(Effect.map((rows) => {
      const counts = Object.fromEntries(TaskStatus.all.map((s) => [s, 0])) as Record<TaskStatus.TaskStatus, number>
      for (const row of rows) counts[row.status] = row.n
      return counts
    }))
  })
})

/** Opens (or creates) the SQLite file, sets durability pragmas and migrates. */
export const layerSqlite = (options: SqliteOptions): Layer.Layer<TaskStore, StoreError> =>
  Layer.scoped(
    TaskStore,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`PRAGMA synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`)
      yield* sql.unsafe("PRAGMA busy_timeout = 5000")
      return yield* makeSqlite
    }).pipe(Effect.mapError((e) => (e._tag === "SqlError" ? storeError(e) : e)))
  ).pipe(
    Layer.provide(
      SqliteClient.layer({ filename: options.filename, prepareCacheSize: 1000 }).pipe(
        Layer.mapError((e) => new StoreError({ message: `cannot open ${options.filename}: ${e.message}` }))
      )
    )
  )
