import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import { applyNewer } from "../migrate.js"
import type { Migration } from "../migrate.js"
import { active, countsBackfill, countsTable, final, listed, nodesMigration, readySinceIndex, keyListIndex, schedulesTable, rateLimitsMigration } from "../schema.js"

export { active, final, listed }

/**
 * Numbered migrations, applied in order. Never renumber or edit an applied migration: add the
 * next number (only ids above the latest applied one run). The partial indexes' WHERE clauses
 * must stay equal to the statements' `from(event)` conditions, or SQLite stops using them.
 */
export const migrations: ReadonlyArray<Migration> = [
  [1, "create_tasks", [
    `CREATE TABLE tasks (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL,
      payload TEXT NOT NULL,
      priority INTEGER NOT NULL,
      status TEXT NOT NULL,
      attempt INTEGER NOT NULL DEFAULT 0,
      retry TEXT NOT NULL,
      timeout_ms INTEGER,
      run_at INTEGER NOT NULL,
      rank REAL NOT NULL,
      key TEXT,
      idempotency_key TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      started_at INTEGER,
      finished_at INTEGER,
      lease_owner TEXT,
      lease_token TEXT,
      lease_expires_at INTEGER,
      result TEXT,
      errors TEXT NOT NULL DEFAULT '[]',
      progress REAL NOT NULL DEFAULT 0,
      description TEXT
    )`,
    // Partial indexes: a row sits only in the index of the state it is in, so a transition
    // touches one or two small indexes instead of every index on the table.
    "CREATE INDEX tasks_ready ON tasks (rank, seq) WHERE status = 'pending'",
    "CREATE INDEX tasks_wake ON tasks (run_at) WHERE status IN ('delayed', 'retrying')",
    "CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running'",
    "CREATE UNIQUE INDEX tasks_idempotency ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL"
  ]],
  // `list` by type, or by a status that has no index of its own, in seq order: without these
  // a page of failed tasks among millions completed scans the whole table. No plain
  // (status, seq) index: written on every transition, and without statistics SQLite prefers it
  // to the id index for claims and to tasks_ready for `ready` (measured: 4x slower end to end).
  [2, "list_indexes", [
    "CREATE INDEX tasks_type ON tasks (type, seq)",
    `CREATE INDEX tasks_listed ON tasks (status, seq) WHERE ${listed.term}`
  ]],
  // Lifecycle control: dependencies (an edge table, and a count of unfinished dependencies
  // per task), log lines, pause gates, actor keys (the oldest unfinished task of a key runs
  // first) and retention (final tasks by finish time).
  [3, "lifecycle", [
    "ALTER TABLE tasks ADD COLUMN depends_on TEXT",
    "ALTER TABLE tasks ADD COLUMN pending_deps INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE tasks ADD COLUMN log_count INTEGER NOT NULL DEFAULT 0",
    "CREATE TABLE task_deps (dep_id TEXT NOT NULL, task_id TEXT NOT NULL, PRIMARY KEY (dep_id, task_id)) WITHOUT ROWID",
    `CREATE TABLE task_logs (
      task_id TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      n INTEGER NOT NULL,
      level TEXT NOT NULL,
      message TEXT NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (task_id, attempt, n)
    ) WITHOUT ROWID`,
    "CREATE TABLE pauses (scope TEXT PRIMARY KEY, at INTEGER NOT NULL)",
    "CREATE INDEX tasks_key ON tasks (key, seq) WHERE key IS NOT NULL AND status NOT IN ('completed', 'failed', 'cancelled')",
    "CREATE INDEX tasks_finished ON tasks (finished_at) WHERE status IN ('completed', 'failed', 'cancelled')"
  ]],
  // Resource requirements, as a JSON array [cpu, memoryMb, gpu], or NULL for none.
  [4, "resources", [
    "ALTER TABLE tasks ADD COLUMN resources TEXT"
  ]],
  // The submit's W3C traceparent (telemetry on), so every dispatch continues the submit's trace,
  // after a restart too. NULL when tracing was off at submit.
  [5, "trace_parent", [
    "ALTER TABLE tasks ADD COLUMN trace_parent TEXT"
  ]],
  [6, ...nodesMigration],
  // The single writer keeps one row per key, updated in place.
  [7, "task_counts", [
    countsTable,
    "CREATE UNIQUE INDEX task_counts_key ON task_counts (status, type, priority)",
    countsBackfill,
    `CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
       INSERT INTO task_counts (status, type, priority, n) VALUES (NEW.status, NEW.type, NEW.priority, 1)
         ON CONFLICT (status, type, priority) DO UPDATE SET n = n + 1;
     END`,
    `CREATE TRIGGER tasks_count_update AFTER UPDATE OF status, priority ON tasks
     WHEN OLD.status IS NOT NEW.status OR OLD.priority IS NOT NEW.priority BEGIN
       UPDATE task_counts SET n = n - 1 WHERE status = OLD.status AND type = OLD.type AND priority = OLD.priority;
       INSERT INTO task_counts (status, type, priority, n) VALUES (NEW.status, NEW.type, NEW.priority, 1)
         ON CONFLICT (status, type, priority) DO UPDATE SET n = n + 1;
     END`,
    `CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
       UPDATE task_counts SET n = n - 1 WHERE status = OLD.status AND type = OLD.type AND priority = OLD.priority;
     END`
  ]],
  [8, "ready_since", [readySinceIndex]],
  [9, "key_list", [keyListIndex]],
  [10, "schedules", [schedulesTable]],
  [11, ...rateLimitsMigration]
]

/**
 * Applies every migration newer than the latest recorded one, all in one transaction; returns
 * the ids applied. The transaction takes the write lock before it reads the latest id, so two
 * processes opening a new file at once migrate one after the other (busy_timeout) instead of
 * both creating the tables.
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(
    "CREATE TABLE IF NOT EXISTS troupe_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
  )
  return yield* sql.withTransaction(Effect.zipRight(
    // A write statement (even one that changes nothing) takes the write lock.
    sql.unsafe("DELETE FROM troupe_migrations WHERE 0"),
    applyNewer(migrations, "INSERT INTO troupe_migrations (id, name) VALUES (?, ?)")
  ))
})
