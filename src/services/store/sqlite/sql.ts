import type { SqlError } from "@effect/sql/SqlError"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { TaskId } from "../../../domain/TaskId.js"
import * as Transition from "../../../domain/Transition.js"
import { active } from "./migrations.js"

// Helpers shared by the SQLite statements: multi-row placeholders, chunking, and status
// conditions taken from the domain's transition table, never written by hand.

/** A statement parameter: a value, or (PostgreSQL, `columnArrays`) an array of values. */
export type Param = string | number | null | ReadonlyArray<string | number | null>

/** Rows per statement where each row takes its own placeholders. */
export const chunkSize = 400

export const chunks = <A>(xs: ReadonlyArray<A>, size = chunkSize): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

export const tuple = (n: number) => `(${"?, ".repeat(n - 1)}?)`
export const tuples = (rows: number, cols: number) => {
  const one = tuple(cols)
  return `${`${one}, `.repeat(rows - 1)}${one}`
}

/**
 * `status = 'a'` or `status IN ('a', 'b')` for the statuses an event may start from. A single
 * status is written as `=`: SQLite matches `status IN ('a')` to no partial index `WHERE
 * status = 'a'` (checked with EXPLAIN QUERY PLAN), and the sweep over leases would scan.
 */
export const from = (event: Transition.TaskEvent, column = "status") => {
  const sources = Transition.sources(event)
  return sources.length === 1
    ? `${column} = '${sources[0]}'`
    : `${column} IN (${sources.map((s) => `'${s}'`).join(", ")})`
}
export const to = (event: Transition.TaskEvent) => `'${Transition.target(event)}'`

/**
 * The connection the store's statements run on: the group-commit writer's, inside its
 * transaction, or one reserved for a read. Statements go to the connection directly rather
 * than through @effect/sql's Statement, which opens a span and a scope per statement (~34 KiB
 * allocated and ~12 µs each, measured: docs/design.md); the store's own spans say what it did.
 */
export class Connection extends Context.Tag("troupe/store/Connection")<Connection, SqlConnection.Connection>() {}

/**
 * The few SQL functions whose spelling differs between the engines (JSON on text columns).
 * The statements ask for it; SQLite's is the default, the PostgreSQL store provides its own.
 */
export interface SqlFunctions {
  /** `column` (a JSON array, as text) with the JSON value `json` appended. */
  readonly appendJson: (column: string, json: string) => string
  /** A JSON array, as text, of the one JSON value `json`. */
  readonly jsonArrayOf: (json: string) => string
  /** A JSON object from alternating keys and values. */
  readonly jsonObject: (...pairs: ReadonlyArray<string>) => string
  /**
   * Ends a `SELECT id FROM tasks …` that picks rows to claim: rows another transaction is
   * claiming or changing are skipped, not waited for (PostgreSQL's `FOR UPDATE SKIP LOCKED`, so
   * nodes claiming at once never wait on or deadlock with each other). Empty on SQLite, whose
   * writers take turns.
   */
  readonly skipLocked: string
  /**
   * The condition of a claim: `where` on SQLite; on PostgreSQL, the rows meeting it that no other
   * transaction holds (a subquery ending in `skipLocked`).
   */
  readonly claimable: (where: string) => string
  /**
   * A statement that takes the lock serializing claims of one type with a concurrency limit (its
   * one parameter) until the transaction ends, without waiting: one row (`ok` true) when taken,
   * false when another node holds it. Null where writers take turns anyway (SQLite).
   */
  readonly typeGate: string | null
  /**
   * Ends a `SELECT … FROM tasks` that reads rows a concurrent writer must not change until this
   * transaction ends (PostgreSQL's `FOR SHARE`); null where writers take turns (SQLite).
   */
  readonly forShare: string | null
  /**
   * The rows of a many-row insert into `tasks` as one parameter per column (`SELECT * FROM
   * unnest(?::text[], …)`): PostgreSQL parses and binds 16 arrays instead of 16 parameters a
   * row. Null: one `VALUES` tuple a row (SQLite).
   */
  readonly columnArrays: ((columns: ReadonlyArray<string>) => string) | null
  /**
   * Folds the maintained counts (schema.ts, `countsTable`): PostgreSQL's deltas into one row
   * per key; SQLite's keys whose count fell to zero removed.
   */
  readonly compactCounts: string
  /** `id` starts with the prefix: the condition and its parameters, on an index of `id`. */
  readonly idPrefix: (prefix: string) => readonly [condition: string, params: ReadonlyArray<string>]
  /**
   * After `tasks u` in the key-head subquery: the index of unfinished keyed tasks. SQLite,
   * without statistics, took the index of every keyed task (list by key) as readily, which
   * walks a key's whole history on every claim; PostgreSQL weighs the two by size.
   */
  readonly keyIndex: string
}

export const sqliteFunctions: SqlFunctions = {
  appendJson: (column, json) => `json_insert(${column}, '$[#]', json(${json}))`,
  jsonArrayOf: (json) => `json_array(json(${json}))`,
  jsonObject: (...pairs) => `json_object(${pairs.join(", ")})`,
  skipLocked: "",
  claimable: (where) => where,
  typeGate: null,
  forShare: null,
  columnArrays: null,
  compactCounts: "DELETE FROM task_counts WHERE n = 0",
  // A range on the id's unique index: SQLite compares text bytewise (ids are ASCII).
  idPrefix: (prefix) => ["id >= ? AND id < ?", [prefix, `${prefix}\u007f`]],
  keyIndex: "INDEXED BY tasks_key"
}

export class Functions extends Context.Reference<Functions>()("troupe/store/SqlFunctions", {
  defaultValue: (): SqlFunctions => sqliteFunctions
}) {}

/** A statement of the store, with its parameters. */
export type Sql<A> = Effect.Effect<A, SqlError, Connection>

export const run = <A extends object>(text: string, params: ReadonlyArray<Param> = []): Sql<ReadonlyArray<A>> =>
  Effect.flatMap(Connection, (connection) => connection.execute(text, params, undefined))

export const ids = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((r) => r.id as TaskId)

/**
 * The task (alias `table`) has no key, or is the oldest unfinished task of its key and no task
 * of the key runs (a manual retry can make an older task unfinished again while a newer one
 * runs): only then may it be offered or claimed. The subquery uses tasks_key (its WHERE text
 * is `active`; `fn.keyIndex` says so where the planner needs telling).
 */
export const keyHead = (table: string, fn: SqlFunctions) =>
  `(${table}.key IS NULL OR NOT EXISTS (SELECT 1 FROM tasks u ${fn.keyIndex} WHERE u.key = ${table}.key AND u.key IS NOT NULL AND u.${active} ` +
  `AND (u.seq < ${table}.seq OR u.status = 'running')))`

