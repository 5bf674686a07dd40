import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

// Numbered migrations, the same model on every engine: each engine's list (never renumbered or
// edited once applied: add the next number), applied in one transaction after the engine's own
// lock, newer than the latest one recorded in troupe_migrations.

export type Migration = readonly [id: number, name: string, statements: ReadonlyArray<string>]

/**
 * Inside the caller's transaction (its lock taken): applies every migration newer than the
 * latest recorded one and records it; returns the ids applied. `record` inserts (id, name) in
 * the engine's parameter style.
 */
export const applyNewer = (
  migrations: ReadonlyArray<Migration>,
  record: string
): Effect.Effect<ReadonlyArray<number>, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.unsafe<{ readonly latest: number | null }>("SELECT max(id) AS latest FROM troupe_migrations")
    const latest = rows[0]?.latest ?? 0
    const applied: Array<number> = []
    for (const [id, name, statements] of migrations) {
      if (id <= latest) continue
      for (const statement of statements) yield* sql.unsafe(statement)
      yield* sql.unsafe(record, [id, name])
      applied.push(id)
    }
    return applied
  })
