import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import * as RateLimit from "../../domain/RateLimit.js"
import type { NewTask } from "../../domain/Task.js"
import { StoreError, TaskNotFound } from "../../domain/TaskErrors.js"
import * as TaskStatus from "../../domain/TaskStatus.js"
import * as Activity from "./sqlite/activity.js"
import * as GroupCommit from "./sqlite/GroupCommit.js"
import * as Lifecycle from "./sqlite/lifecycle.js"
import * as Migrations from "./sqlite/migrations.js"
import { countsRead } from "./schema.js"
import * as Nodes from "./sqlite/nodes.js"
import * as RateLimits from "./sqlite/rateLimits.js"
import * as Schedules from "./sqlite/schedules.js"
import * as Rows from "./sqlite/rows.js"
import * as Sql from "./sqlite/sql.js"
import * as Statements from "./sqlite/statements.js"
import { TaskStore } from "./TaskStore.js"
import { submitSignals } from "./TaskStore.js"
import type { Applied, CountRow, Inserted, StoreSignal } from "./TaskStore.js"

const noChange: Applied = { ids: [], changes: [] }

/**
 * Runs every method of the store with the tracer disabled: @effect/sql makes a span per
 * statement and per transaction, which would flood traces (the group-commit writer's would
 * even be root spans, one trace each), also under an app's own tracer when the runtime's
 * telemetry is off. The runtime's own spans say what the store did.
 */
const untraced = <S extends object>(service: S): S => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(service)) {
    if (Effect.isEffect(value)) out[key] = Effect.withTracerEnabled(value, false)
    else if (typeof value === "function") {
      const method = value as (...args: ReadonlyArray<unknown>) => unknown
      out[key] = (...args: ReadonlyArray<unknown>) => {
        const result = method(...args)
        return Effect.isEffect(result) ? Effect.withTracerEnabled(result, false) : result
      }
    } else out[key] = value
  }
  return out as S
}

export interface SqliteOptions {
  /** The database file (created if missing). */
  readonly filename: string
  /** "normal": WAL + synchronous=NORMAL (survives process crashes); "full": also power loss. */
  readonly durability?: "normal" | "full"
}

const storeError = GroupCommit.toStoreError
const read = <A>(effect: Effect.Effect<A, SqlError>): Effect.Effect<A, StoreError> => Effect.mapError(effect, storeError)

/** What differs between the engines the store runs on: their migrations and their SQL text. */
export interface Dialect {
  readonly migrate: Effect.Effect<ReadonlyArray<number>, SqlError, SqlClient.SqlClient>
  /** A connection as the store's statements (written once, for both) need it. */
  readonly connection: (connection: SqlConnection.Connection) => SqlConnection.Connection
  /** The SQL functions whose spelling differs (JSON on text columns). */
  readonly functions: Sql.SqlFunctions
  /** Telling other processes that work may be ready, and hearing them (none on SQLite). */
  readonly signals?: Signals
  /** How the writer sets up its connection and undoes it (GroupCommit.make's `session`). */
  readonly session?: GroupCommit.Session
  /** The writer keeps its connection between transactions (not where reads share it). */
  readonly holdWriter?: boolean
}

/** How processes sharing a store tell each other what a write did (TaskStore.signals). */
export interface Signals {
  /** Says so to every process (once per burst of each kind). */
  readonly notify: (signal: StoreSignal) => Effect.Effect<void>
  /** What every process (this one included) said. */
  readonly heard: Stream.Stream<StoreSignal>
}

export const sqlite: Dialect = { migrate: Migrations.migrate, connection: (connection) => connection, functions: Sql.sqliteFunctions }

/**
 * The TaskStore over an open SqlClient: migrations, then reads on a reserved connection,
 * writes through the group-commit writer (forked in the surrounding scope). One implementation
 * for both engines; `dialect` holds what differs.
 */
export const make = (dialect: Dialect): Effect.Effect<TaskStore["Type"], StoreError, SqlClient.SqlClient | Scope.Scope> => Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* dialect.migrate.pipe(Effect.mapError(storeError))
  const writer = yield* GroupCommit.make(dialect.connection, dialect.session, dialect.holdWriter)
  // Every write runs with the dialect's SQL functions.
  // SQLite's functions are the Reference's default: nothing to provide on its hot path.
  const withFunctions = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    dialect.functions === Sql.sqliteFunctions ? effect : Effect.provideService(effect, Sql.Functions, dialect.functions)
  const group = { write: <A, E>(run: Effect.Effect<A, E, Sql.Connection>, single = false) => writer.write(withFunctions(run), single) }
  // A committed write that may have made work ready is told to the other processes.
  const signals = dialect.signals
  const tellingBy = <A>(kinds: (result: A) => ReadonlyArray<StoreSignal>) => <E>(write: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    signals === undefined ? write : Effect.tap(write, (result) => Effect.forEach(kinds(result), signals.notify, { discard: true }))
  const telling = (...kinds: ReadonlyArray<StoreSignal>) => <A, E>(write: Effect.Effect<A, E>): Effect.Effect<A, E> => tellingBy<A>(() => kinds)(write)
  // A completion frees keys, limits and dependents; a dependent whose run-at is still ahead is due later.
  const completing = tellingBy((applied: Applied) => (applied.changes.some((c) => c.status === "delayed") ? ["ready", "timer"] : ["ready"]))
  const readying = telling("ready")
  const rescheduling = telling("ready", "timer")
  const controlling = telling("control", "ready")
  const submitting = (tasks: ReadonlyArray<NewTask>) => telling(...submitSignals(tasks))
  const retry = Rows.makeRetryCache()
  const selectTasks = (where: string, params: ReadonlyArray<string | number>) =>
    onClient(Sql.run<Rows.TaskRow>(`SELECT * FROM tasks WHERE ${where}`, params as Array<string | number>)).pipe(
      Effect.map((rows) => rows.map((row) => Rows.toTask(row, retry)))
    )

  // A read runs on the connection reserved for it (the writer's transaction excludes it).
  const onClient = <A>(effect: Effect.Effect<A, SqlError, Sql.Connection>) =>
    read(Effect.scoped(Effect.flatMap(sql.reserve, (connection) =>
      withFunctions(Effect.provideService(effect, Sql.Connection, dialect.connection(connection))))))

  const service = TaskStore.of({
    insert: (tasks, options) =>
      Effect.gen(function*() {
        if (tasks.length === 0) return []
        const { created: isCreated, inserted, statuses } = yield* submitting(tasks)(group.write(Statements.insertTasks(tasks, options?.maxActive), Statements.insertIsSingle(tasks, options?.maxActive)))
        const existing = tasks.filter((_, i) => !isCreated[i])
        const byId = new Map<string, Inserted>()
        const byKey = new Map<string, Inserted>()
        for (let i = 0; i < existing.length; i += 400) {
          const chunk = existing.slice(i, i + 400)
          const keys = chunk.flatMap((t) => (t.idempotencyKey === null ? [] : [t.idempotencyKey]))
          const rows = yield* onClient(Sql.run<Rows.RefRow & { readonly status: TaskStatus.TaskStatus; readonly idempotency_key: string | null }>(
            `SELECT ${Rows.readyColumns}, status, idempotency_key FROM tasks WHERE id IN (${chunk.map(() => "?").join(", ")})` +
              (keys.length > 0 ? ` OR idempotency_key IN (${keys.map(() => "?").join(", ")})` : ""),
            [...chunk.map((t) => t.id), ...keys]
          ))
          for (const { idempotency_key, status, ...row } of rows) {
            const found: Inserted = { ...Rows.toRef(row), status, created: false }
            byId.set(row.id, found)
            if (idempotency_key !== null) byKey.set(idempotency_key, found)
          }
        }
        return yield* Effect.forEach(tasks, (t, i): Effect.Effect<Inserted, StoreError> => {
          const row = inserted.get(t.id)
          if (row !== undefined && isCreated[i]) {
            const status = (statuses.get(t.id) ?? t.status) as TaskStatus.TaskStatus
            return Effect.succeed({ id: t.id, type: t.type, status, priority: t.priority, rank: t.rank, seq: row.seq, key: t.key, resources: t.resources, ...(t.rateKey === undefined ? {} : { rateKey: t.rateKey }), created: true })
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
    endsAmong: (ids) =>
      ids.length === 0 ? Effect.succeed({ ended: [], missing: [] }) : onClient(Statements.endsAmong(ids)),
    list: (query) => {
      const where: Array<string> = []
      const params: Array<string | number> = []
      if (query.status !== undefined) {
        if (query.status.length === 0) return Effect.succeed([])
        where.push(`status IN (${query.status.map(() => "?").join(", ")})`)
        params.push(...query.status)
        if (query.status.every((s) => (Migrations.listed.statuses as ReadonlyArray<string>).includes(s))) {
          where.push(Migrations.listed.term)
        }
      }
      if (query.type !== undefined) {
        where.push("type = ?")
        params.push(query.type)
      }
      if (query.key !== undefined) {
        where.push("key = ?")
        params.push(query.key)
      }
      if (query.idPrefix !== undefined && query.idPrefix.length > 0) {
        const [condition, values] = dialect.functions.idPrefix(query.idPrefix)
        where.push(condition)
        params.push(...values)
      }
      if (query.afterSeq !== undefined) {
        where.push("seq > ?")
        params.push(query.afterSeq)
      }
      if (query.beforeSeq !== undefined) {
        where.push("seq < ?")
        params.push(query.beforeSeq)
      }
      params.push(Math.max(0, Math.floor(query.limit)))
      const order = query.newestFirst === true ? "seq DESC" : "seq"
      return selectTasks(`${where.length > 0 ? where.join(" AND ") : "1 = 1"} ORDER BY ${order} LIMIT ?`, params)
    },
    ready: (limit, excludeTypes = [], excludeBuckets = []) => {
      // A bucket per rate key (`type/key`) held at its limit: its tasks only, not the type's others.
      const buckets = excludeBuckets.map(RateLimit.partsOf)
      return onClient(Sql.run<Rows.RefRow>(
        `SELECT ${Rows.readyColumns} FROM tasks WHERE ${Statements.from("claim")} AND ${Statements.keyHead("tasks", dialect.functions)}` +
          (excludeTypes.length > 0 ? ` AND type NOT IN (${excludeTypes.map(() => "?").join(", ")})` : "") +
          buckets.map(() => " AND NOT (type = ? AND COALESCE(rate_key, '') = ?)").join("") +
          " ORDER BY rank, seq LIMIT ?",
        [...excludeTypes, ...buckets.flatMap((b) => [b.type, b.rateKey ?? ""]), Math.max(0, Math.floor(limit))]
      )).pipe(Effect.map((rows) => rows.map(Rows.toRef)))
    },
    keyHeads: (keys) => onClient(Lifecycle.keyHeads(keys)),
    graph: (id) => onClient(Lifecycle.graph(id)),
    claim: (ids, lease) =>
      ids.length === 0 ? Effect.succeed([]) : group.write(Statements.claim(ids, lease, retry), Statements.claimIsSingle(ids, lease)),
    complete: (items, now) => items.length === 0 ? Effect.succeed(noChange) : completing(group.write(Statements.complete(items, now))),
    fail: (items, now) => items.length === 0 ? Effect.succeed(noChange) : rescheduling(group.write(Statements.fail(items, now))),
    cancel: (ids, now) => ids.length === 0 ? Effect.succeed(noChange) : controlling(group.write(Lifecycle.cancel(ids, now))),
    pause: (ids, now) => ids.length === 0 ? Effect.succeed(noChange) : group.write(Lifecycle.pause(ids, now)),
    resume: (ids, now) => ids.length === 0 ? Effect.succeed(noChange) : rescheduling(group.write(Lifecycle.resume(ids, now))),
    retry: (ids, now, rankOf) => ids.length === 0 ? Effect.succeed(noChange) : rescheduling(group.write(Lifecycle.retry(ids, now, rankOf))),
    remove: (ids) => ids.length === 0 ? Effect.succeed([]) : group.write(Lifecycle.remove(ids)),
    purge: (before, limit) => group.write(Lifecycle.purge(before, limit)),
    release: (items, now) => items.length === 0 ? Effect.succeed([]) : readying(group.write(Statements.release(items, now))),
    extendLeases: (items, expiresAt) =>
      items.length === 0 ? Effect.succeed([]) : group.write(Statements.extendLeases(items, expiresAt)),
    wakeDue: (now) => readying(group.write(Statements.wakeDue(now))),
    nextWakeAt: onClient(Sql.run<{ readonly next: number | null }>(
      `SELECT min(run_at) AS next FROM tasks WHERE ${Statements.from("wake")}`
    )).pipe(Effect.map((rows) => Option.fromNullable(rows[0]?.next))),
    leaseOwners: onClient(Sql.run<{ readonly owner: string }>(
      `SELECT DISTINCT lease_owner AS owner FROM tasks WHERE ${Statements.from("release")} AND lease_owner IS NOT NULL`
    )).pipe(Effect.map((rows) => rows.map((r) => r.owner))),
    leasesOf: (owners) => owners.length === 0 ? Effect.succeed([]) : onClient(Statements.leasesOf(owners, retry)),
    expiredLeases: (now) => onClient(Statements.expiredLeases(now, retry)),
    // Read from the counts the triggers keep (schema.ts): a few rows, however many tasks.
    counts: onClient(Sql.run<CountRow>(countsRead)).pipe(Effect.map((rows) => {
      const counts = Object.fromEntries(TaskStatus.all.map((s) => [s, 0])) as Record<TaskStatus.TaskStatus, number>
      for (const row of rows) counts[row.status] += row.count
      return counts
    })),
    countRows: onClient(Sql.run<CountRow>(countsRead)),
    compactCounts: Effect.asVoid(group.write(Effect.flatMap(Sql.Functions, (fn) => Sql.run(fn.compactCounts)))),
    // In run_at order on tasks_ready_since: the first row that is not of an excluded type.
    oldestReadyAt: (excludeTypes = []) =>
      onClient(Sql.run<{ readonly at: number }>(
        `SELECT run_at AS at FROM tasks WHERE ${Statements.from("claim")}` +
          (excludeTypes.length > 0 ? ` AND type NOT IN (${excludeTypes.map(() => "?").join(", ")})` : "") +
          " ORDER BY run_at LIMIT 1",
        [...excludeTypes]
      )).pipe(Effect.map((rows) => Option.fromNullable(rows[0]?.at))),
    appendLogs: (lines, cap) => lines.length === 0 ? Effect.succeed([]) : group.write(Activity.appendLogs(lines, cap)),
    logs: (id) => onClient(Activity.logs(id)),
    setProgress: (items) => items.length === 0 ? Effect.void : group.write(Activity.setProgress(items)),
    pauses: onClient(Activity.pauses),
    setPaused: (scope, paused, now) => controlling(group.write(Activity.setPaused(scope, paused, now))),
    beat: (owner, startedAt, now, info) => group.write(Nodes.beat(owner, startedAt, now, info)),
    nodes: onClient(Nodes.list),
    removeNodes: (owners) => owners.length === 0 ? Effect.void : group.write(Nodes.remove(owners)),
    rateBuckets: (buckets) => onClient(RateLimits.list(buckets)),
    putSchedule: (row) => group.write(Schedules.put(row)),
    removeSchedule: (name) => group.write(Schedules.remove(name)),
    schedules: onClient(Schedules.list),
    advanceSchedule: (name, from, to) => group.write(Schedules.advance(name, from, to)),
    signals: signals === undefined ? Stream.never : signals.heard
  })
  return untraced(service)
}).pipe(Effect.withTracerEnabled(false))

/** The SQLite store over an open SqlClient. */
export const makeSqlite = make(sqlite)

/** The store over an SqlClient the caller provides (and configures): migrates, then serves. */
export const layerSqlClient: Layer.Layer<TaskStore, StoreError, SqlClient.SqlClient> = Layer.scoped(TaskStore, makeSqlite)

/**
 * Opens (or creates) the SQLite file in WAL mode, sets durability, busy_timeout and temp_store
 * (the client sets none of them), migrates, and serves the store; the file closes with the layer's scope.
 */
export const layerSqlite = (options: SqliteOptions): Layer.Layer<TaskStore, StoreError> =>
  Layer.scoped(
    TaskStore,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* read(sql.unsafe(`PRAGMA synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`))
      yield* read(sql.unsafe("PRAGMA busy_timeout = 5000"))
      // Temporary b-trees in memory: SQLite builds one per statement for RETURNING and for the
      // IN lists of the partial indexes' conditions; on the default (a temporary file's pager,
      // set up and torn down each time) a status change cost ~220 µs a row, in memory ~25 µs
      // (measured: docs/design.md).
      yield* read(sql.unsafe("PRAGMA temp_store = MEMORY"))
      return yield* makeSqlite
    }).pipe(Effect.withTracerEnabled(false))
  ).pipe(
    Layer.provide(
      SqliteClient.layer({ filename: options.filename, prepareCacheSize: 1000 }).pipe(
        // better-sqlite3 throws when it cannot open the file, which the client lets through as a
        // defect: it is a storage error all the same.
        Layer.catchAllCause((cause) => {
          const error = Cause.squash(cause)
          return Layer.fail(new StoreError({
            message: `SQLite: cannot open ${options.filename}: ${error instanceof Error ? error.message : String(error)}`,
            cause: error
          }))
        })
      )
    )
  )

/**
 * An in-memory SQLite database (`:memory:`): the same engine and rules as a file, nothing
 * kept after the layer closes. For tests and throwaway runs; there is no second store.
 */
export const layerMemory: Layer.Layer<TaskStore, StoreError> = layerSqlite({ filename: ":memory:" })
