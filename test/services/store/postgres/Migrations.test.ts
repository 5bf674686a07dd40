import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PgStore from "../../../../src/services/store/postgres/client.js"
import * as Migrations from "../../../../src/services/store/postgres/migrations.js"
import { freshDatabase } from "../../../support/postgres.js"

// The PostgreSQL store's schema on a real server, a database of its own per test.

/** A pool of its own on `url`, as a node would open one. */
const node = (url: Parameters<typeof PgStore.layer>[0]["url"]) =>
  Effect.map(Layer.build(PgStore.layer({ url, maxConnections: 2 })), (context) => Context.get(context, SqlClient.SqlClient))

describe("PostgreSQL migrations", () => {
  it.live("nodes starting together migrate once, under the advisory lock; again, nothing is applied", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabase
      const [a, b, c] = yield* Effect.all([node(url), node(url), node(url)])
      const applied = yield* Effect.all(
        [a, b, c].map((sql) => Effect.provideService(Migrations.migrate, SqlClient.SqlClient, sql)),
        { concurrency: "unbounded" }
      )
      expect(applied.map((ids) => ids.length).sort()).toEqual([0, 0, Migrations.migrations.length])
      expect(yield* Effect.provideService(Migrations.migrate, SqlClient.SqlClient, a)).toEqual([])
      const recorded = yield* a.unsafe<{ readonly id: number; readonly name: string }>("SELECT id, name FROM troupe_migrations ORDER BY id")
      expect(recorded.map((r) => [r.id, r.name])).toEqual(Migrations.migrations.map(([id, name]) => [id, name]))
    }).pipe(Effect.scoped))

  it.live("times and sequence numbers (BIGINT) come back as numbers, as from SQLite", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabase
      const sql = yield* node(url)
      yield* Effect.provideService(Migrations.migrate, SqlClient.SqlClient, sql)
      const now = Date.now()
      yield* sql.unsafe(
        "INSERT INTO tasks (id, type, payload, priority, status, retry, run_at, rank, created_at, updated_at) VALUES ($1, 'x', '{}', 10, 'pending', '{}', $2, 1.5, $2, $2)",
        ["a", now]
      )
      const [row] = yield* sql.unsafe<{ readonly seq: unknown; readonly run_at: unknown; readonly rank: unknown; readonly priority: unknown }>(
        "SELECT seq, run_at, rank, priority FROM tasks"
      )
      expect(row).toEqual({ seq: 1, run_at: now, rank: 1.5, priority: 10 })
    }).pipe(Effect.scoped))
})
