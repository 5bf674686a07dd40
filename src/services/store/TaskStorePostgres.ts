import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import { StoreError } from "../../domain/TaskErrors.js"
import * as Client from "./postgres/client.js"
import * as Dialect from "./postgres/dialect.js"
import * as Migrations from "./postgres/migrations.js"
import { TaskStore } from "./TaskStore.js"
import { make } from "./TaskStoreSqlite.js"

// The TaskStore on PostgreSQL: the same implementation as on SQLite (TaskStoreSqlite.make),
// with PostgreSQL's migrations and statement text (postgres/dialect.ts).

export interface PostgresOptions {
  /** postgres://user@host:port/database */
  readonly url: Redacted.Redacted<string>
  /** Connections in this node's pool (default 10). */
  readonly maxConnections?: number
}

/** Connects, migrates (under the advisory lock) and serves; the pool closes with the layer. */
export const layerPostgres = (options: PostgresOptions): Layer.Layer<TaskStore, StoreError> =>
  Layer.scoped(TaskStore, make({ migrate: Migrations.migrate, connection: Dialect.connection, functions: Dialect.functions })).pipe(
    Layer.provide(Client.layer(options).pipe(
      Layer.mapError((e) => new StoreError({ message: `PostgreSQL: cannot connect: ${e.message}`, cause: e }))
    ))
  )
