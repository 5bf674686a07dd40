import type * as SqlConnection from "@effect/sql/SqlConnection"
import { taskColumns } from "../schema.js"
import type * as GroupCommit from "../sqlite/GroupCommit.js"
import type { SqlFunctions } from "../sqlite/sql.js"

// Where the store's statements differ between SQLite and PostgreSQL. They are written once,
// with `?` parameters; on PostgreSQL each text is translated once (then cached): `$n`
// parameters, and GREATEST for SQLite's two-argument max. JSON on text columns is spelled by
// `functions`. Everything else they use is common to both (INSERT … ON CONFLICT DO NOTHING
// RETURNING, partial indexes, CASE, IN lists, CAST of the columns of a VALUES list).

/** The channel nodes notify on after a write (TaskStore.signals). */
export const channel = "troupe_work"

/**
 * The transaction-scoped advisory locks that claims of limited types take, one per type (this
 * key, bytes 't' 'r' 'l' 'm', and the type's hash): a count of a type's running attempts is then
 * not raced by another node's claim of the type.
 */
export const typeGateLock = 0x74726c6d

const pgType = { text: "text", int: "integer", time: "bigint", real: "double precision" } as const
const kinds = new Map(taskColumns.map(([name, kind]) => [name, kind] as const))
/** The PostgreSQL type of a tasks column. */
const arrayType = (column: string) => pgType[kinds.get(column) ?? "text"]

/** JSON on the store's text columns, in PostgreSQL (jsonb, back to text). */
export const functions: SqlFunctions = {
  appendJson: (column, json) => `(${column}::jsonb || jsonb_build_array((${json})::jsonb))::text`,
  jsonArrayOf: (json) => `jsonb_build_array((${json})::jsonb)::text`,
  jsonObject: (...pairs) => `jsonb_build_object(${pairs.join(", ")})`,
  skipLocked: " FOR UPDATE SKIP LOCKED",
  claimable: (where) => `id IN (SELECT id FROM tasks WHERE ${where} FOR UPDATE SKIP LOCKED)`,
  typeGate: `SELECT pg_try_advisory_xact_lock(${typeGateLock}, hashtext(?)) AS ok`,
  forShare: " FOR SHARE",
  // The rows deleted are the ones this statement sees; deltas committed meanwhile stay, unfolded.
  compactCounts: `WITH folded AS (DELETE FROM task_counts RETURNING status, type, priority, n)
    INSERT INTO task_counts (status, type, priority, n) SELECT status, type, priority, sum(n) FROM folded GROUP BY status, type, priority HAVING sum(n) <> 0`,
  // LIKE on tasks_id_prefix (text_pattern_ops): a range by bytes whatever the collation; in
  // other collations a bytewise range would be wrong (they skip punctuation and control bytes).
  idPrefix: (prefix) => ["id LIKE ?", [`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`]],
  keyIndex: "",
  columnArrays: (columns) => `SELECT * FROM unnest(${columns.map((c) => `?::${arrayType(c)}[]`).join(", ")})`
}

/**
 * How the writer's connection runs on PostgreSQL, set once when it takes one: READ COMMITTED
 * whatever the server's default (each statement sees what committed before it: the type gate's
 * count relies on it), and a lock timeout, so a write that waits on a row or key held elsewhere
 * (an application's open transaction holding an idempotency key, say) fails alone (its
 * savepoint) instead of holding every write of the node — its claims, its outcomes, its
 * heartbeat — behind it. Per session, not per transaction: a lone statement runs without one.
 */
// One round-trip each: a text with no parameters goes as a simple query, which may hold several
// statements. (Session settings need session pooling, as LISTEN does: not PgBouncer's
// transaction mode.)
export const session: GroupCommit.Session = {
  open: ["SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED; SET lock_timeout = '2s'"],
  reset: ["RESET default_transaction_isolation; RESET lock_timeout"]
}

const translated = new Map<string, string>()

/** A statement's text for PostgreSQL. */
export const toPostgres = (text: string): string => {
  let out = translated.get(text)
  if (out === undefined) {
    let n = 0
    out = text.replace(/\bmax\(run_at, /g, "GREATEST(run_at, ").replace(/\?/g, () => `$${++n}`)
    translated.set(text, out)
  }
  return out
}

/** A connection that takes the store's statements as written and runs them on PostgreSQL. */
export const connection = (inner: SqlConnection.Connection): SqlConnection.Connection => ({
  execute: (sql, params, transform) => inner.execute(toPostgres(sql), params, transform),
  executeRaw: (sql, params) => inner.executeRaw(toPostgres(sql), params),
  executeStream: (sql, params, transform) => inner.executeStream(toPostgres(sql), params, transform),
  executeValues: (sql, params) => inner.executeValues(toPostgres(sql), params),
  executeUnprepared: (sql, params, transform) => inner.executeUnprepared(toPostgres(sql), params, transform)
})
