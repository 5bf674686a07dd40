// The conditions of the store's partial indexes, one text for every dialect: SQLite (and the
// PostgreSQL planner, for its partial indexes) uses a partial index only when the query repeats
// its WHERE term, so statements build their conditions from these same strings. Migrations were
// built from this text: never edit it (a new index needs a new migration).

/**
 * The statuses indexed for `list` by tasks_listed. `list` adds `term` when every status it asks
 * for is here.
 */
export const listed = {
  statuses: ["blocked", "delayed", "retrying", "paused", "failed", "cancelled"],
  term: "status IN ('blocked', 'delayed', 'retrying', 'paused', 'failed', 'cancelled')"
} as const

/** Unfinished statuses, as tasks_key's WHERE clause spells them. */
export const active = "status NOT IN ('completed', 'failed', 'cancelled')"
/** Final statuses, as tasks_finished's WHERE clause spells them. */
export const final = "status IN ('completed', 'failed', 'cancelled')"

/**
 * The columns of the tasks table after every SQLite migration (1–5), besides `seq`, by kind:
 * `time` is epoch milliseconds, JSON is text. SQLite's own migrations stay as they were
 * written; a new engine's schema is made from this list.
 */
export const taskColumns: ReadonlyArray<readonly [name: string, kind: "text" | "int" | "time" | "real", rest?: string]> = [
  ["id", "text", "NOT NULL UNIQUE"],
  ["type", "text", "NOT NULL"],
  ["payload", "text", "NOT NULL"],
  ["priority", "int", "NOT NULL"],
  ["status", "text", "NOT NULL"],
  ["attempt", "int", "NOT NULL DEFAULT 0"],
  ["retry", "text", "NOT NULL"],
  ["timeout_ms", "time"],
  ["run_at", "time", "NOT NULL"],
  ["rank", "real", "NOT NULL"],
  ["key", "text"],
  ["idempotency_key", "text"],
  ["created_at", "time", "NOT NULL"],
  ["updated_at", "time", "NOT NULL"],
  ["started_at", "time"],
  ["finished_at", "time"],
  ["lease_owner", "text"],
  ["lease_token", "text"],
  ["lease_expires_at", "time"],
  ["result", "text"],
  ["errors", "text", "NOT NULL DEFAULT '[]'"],
  ["progress", "real", "NOT NULL DEFAULT 0"],
  ["description", "text"],
  ["depends_on", "text"],
  ["pending_deps", "int", "NOT NULL DEFAULT 0"],
  ["log_count", "int", "NOT NULL DEFAULT 0"],
  ["resources", "text"],
  ["trace_parent", "text"]
]

/**
 * Migrations shared by every engine after the first schema (SQLite's 6, PostgreSQL's 2):
 * - the nodes sharing the store, each with its last heartbeat and what it reports (JSON: its
 *   threads, load and memory pressure), so a node that stops heartbeating is declared dead and
 *   stats list every node;
 * - running attempts by type, which claims of a type with a concurrency limit count.
 */
/**
 * Counts by status, type and priority, kept by triggers as tasks change, so stats and the
 * dashboard read a few rows instead of counting every task (a GROUP BY over 1,000,000 tasks
 * took 484 ms). Read as `sum(n)` per key: SQLite keeps one row per key (its single writer
 * updates it in place); PostgreSQL appends deltas, one row per key per statement, which no two
 * transactions contend on, and its leading node folds them (`compactCounts`). The backfill
 * counts what is there when the migration runs.
 */
export const countsTable = "CREATE TABLE task_counts (status TEXT NOT NULL, type TEXT NOT NULL, priority INTEGER NOT NULL, n BIGINT NOT NULL)"
export const countsBackfill = "INSERT INTO task_counts (status, type, priority, n) SELECT status, type, priority, count(*) FROM tasks GROUP BY status, type, priority"
/** The counts as rows of (status, type, priority, count), zeros left out. */
export const countsRead = "SELECT status, type, priority, CAST(sum(n) AS BIGINT) AS count FROM task_counts GROUP BY status, type, priority HAVING sum(n) <> 0"

/**
 * Pending tasks by run-at, so health's oldest ready task is one index step, not a scan of every
 * pending task (150 ms at 900,000). Its WHERE text is `from("claim")`'s.
 */
export const readySinceIndex = "CREATE INDEX tasks_ready_since ON tasks (run_at) WHERE status = 'pending'"

/**
 * `list` by actor key, finished tasks included, newest or oldest first (tasks_key holds only
 * unfinished ones: the key heads' index, kept small).
 */
export const keyListIndex = "CREATE INDEX tasks_key_list ON tasks (key, seq) WHERE key IS NOT NULL"

/** Schedules (domain/TaskSchedule.ts): one row per name; the same text on both engines. */
export const schedulesTable =
  "CREATE TABLE schedules (name TEXT PRIMARY KEY, type TEXT NOT NULL, payload TEXT NOT NULL, cron TEXT, every_ms BIGINT, timezone TEXT, " +
  "misfire TEXT NOT NULL, options TEXT NOT NULL, next_at BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)"

/**
 * Rate limits: a task's rate key (the allowance it counts in when its type's limit is per key),
 * and one row per bucket with its starts of the last interval (JSON [instant, count] pairs, see
 * domain/RateLimit.ts), when it is idle again (stats list the busy ones; retention deletes the
 * idle ones), and the limit it was last claimed under (for stats on any node).
 */
export const rateLimitsMigration: readonly [name: string, statements: ReadonlyArray<string>] = ["rate_limits", [
  "ALTER TABLE tasks ADD COLUMN rate_key TEXT",
  "CREATE TABLE rate_limits (bucket TEXT PRIMARY KEY, type TEXT NOT NULL, rate_key TEXT, lim INTEGER NOT NULL, " +
  "per_ms DOUBLE PRECISION NOT NULL, starts TEXT NOT NULL, idle_at DOUBLE PRECISION NOT NULL)",
  "CREATE INDEX rate_limits_idle ON rate_limits (idle_at)"
]]

export const nodesMigration: readonly [name: string, statements: ReadonlyArray<string>] = ["nodes", [
  "CREATE TABLE nodes (owner TEXT PRIMARY KEY, started_at BIGINT NOT NULL, seen_at BIGINT NOT NULL, info TEXT NOT NULL)",
  "CREATE INDEX tasks_running_type ON tasks (type) WHERE status = 'running'"
]]
