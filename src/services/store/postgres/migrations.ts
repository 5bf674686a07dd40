import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import { applyNewer } from "../migrate.js"
import type { Migration } from "../migrate.js"
import { active, countsBackfill, countsTable, final, listed, nodesMigration, readySinceIndex, keyListIndex, schedulesTable, rateLimitsMigration, taskColumns } from "../schema.js"

/** A column of the tasks table in PostgreSQL's types. */
const pgType = { text: "TEXT", int: "INTEGER", time: "BIGINT", real: "DOUBLE PRECISION" } as const

const createTasks = `CREATE TABLE tasks (
      seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      ${taskColumns.map(([name, kind, rest]) => `${name} ${pgType[kind]}${rest === undefined ? "" : ` ${rest}`}`).join(",\n      ")}
    )`

/**
 * The PostgreSQL schema: the same tables, columns and partial indexes as SQLite's (after its
 * migrations 1–5), in PostgreSQL's types. Times are BIGINT epoch milliseconds and JSON stays
 * text, so rows read the same from either store. Numbered like SQLite's and applied the same
 * way: never renumber or edit one that may have been applied; add the next number.
 */
export const migrations: ReadonlyArray<Migration> = [
  [1, "create_tasks", [
    createTasks,
    "CREATE INDEX tasks_ready ON tasks (rank, seq) WHERE status = 'pending'",
    "CREATE INDEX tasks_wake ON tasks (run_at) WHERE status IN ('delayed', 'retrying')",
    "CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running'",
    "CREATE UNIQUE INDEX tasks_idempotency ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL",
    "CREATE INDEX tasks_type ON tasks (type, seq)",
    `CREATE INDEX tasks_listed ON tasks (status, seq) WHERE ${listed.term}`,
    `CREATE INDEX tasks_key ON tasks (key, seq) WHERE key IS NOT NULL AND ${active}`,
    `CREATE INDEX tasks_finished ON tasks (finished_at) WHERE ${final}`,
    "CREATE TABLE task_deps (dep_id TEXT NOT NULL, task_id TEXT NOT NULL, PRIMARY KEY (dep_id, task_id))",
    "CREATE TABLE task_logs (task_id TEXT NOT NULL, attempt INTEGER NOT NULL, n INTEGER NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL, " +
    "at BIGINT NOT NULL, PRIMARY KEY (task_id, attempt, n))",
    "CREATE TABLE pauses (scope TEXT PRIMARY KEY, at BIGINT NOT NULL)"
  ]],
  [2, ...nodesMigration],
  // Deltas, one row per key per statement (statement triggers over the transition tables): no
  // row is updated in place, so nodes' transactions never wait on a counter.
  // The triggers come before the backfill: creating them locks tasks against writes until the
  // migration commits, so no write of a node still on the old version falls between the two.
  [3, "task_counts", [
    countsTable,
    `CREATE FUNCTION troupe_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       INSERT INTO task_counts (status, type, priority, n) SELECT status, type, priority, count(*) FROM new_rows GROUP BY status, type, priority;
       RETURN NULL;
     END $$`,
    `CREATE FUNCTION troupe_count_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       INSERT INTO task_counts (status, type, priority, n)
         SELECT status, type, priority, sum(n) FROM (
           SELECT status, type, priority, -1 AS n FROM old_rows UNION ALL SELECT status, type, priority, 1 AS n FROM new_rows
         ) changed GROUP BY status, type, priority HAVING sum(n) <> 0;
       RETURN NULL;
     END $$`,
    `CREATE FUNCTION troupe_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       INSERT INTO task_counts (status, type, priority, n) SELECT status, type, priority, -count(*) FROM old_rows GROUP BY status, type, priority;
       RETURN NULL;
     END $$`,
    "CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION troupe_count_insert()",
    "CREATE TRIGGER tasks_count_update AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION troupe_count_update()",
    "CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION troupe_count_delete()",
    countsBackfill
  ]],
  [4, "ready_since", [readySinceIndex]],
  [5, "id_prefix", ["CREATE INDEX tasks_id_prefix ON tasks (id text_pattern_ops)"]],
  [6, "key_list", [keyListIndex]],
  [7, "schedules", [schedulesTable]],
  [8, ...rateLimitsMigration]
]

/**
 * The advisory lock migrations run under (a constant of troupe's: 't' 'r' 'o' 'u' as bytes), so
 * nodes starting together against one database migrate one after the other, not at once.
 */
export const migrationLock = 0x74726f75

/**
 * Applies every migration newer than the latest recorded one, all in one transaction, under
 * the advisory lock (released with the transaction); returns the ids applied. A node that
 * waited for the lock finds them applied and applies none.
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql.unsafe(`SELECT pg_advisory_xact_lock(${migrationLock})`)
    yield* sql.unsafe(
      "CREATE TABLE IF NOT EXISTS troupe_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    return yield* applyNewer(migrations, "INSERT INTO troupe_migrations (id, name) VALUES ($1, $2)")
  }))
})
