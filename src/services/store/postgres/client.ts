import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Pg from "pg"

// The PostgreSQL connection pool of the store. Times, sequence numbers and counts are BIGINT:
// `pg` hands them over as strings (they may pass 2^53); the store's are epoch milliseconds and
// row counts, far below it, so they come back as numbers, like SQLite's.

const INT8 = 20

const types: Pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8 && format !== "binary" ? (text: string) => Number(text) : Pg.types.getTypeParser(oid, format)) as Pg.CustomTypesConfig["getTypeParser"]
}

export interface Options {
  /** postgres://user@host:port/database */
  readonly url: Redacted.Redacted<string>
  /** Connections in the pool (default 10). */
  readonly maxConnections?: number
}

/** A pool on `url`, as the SqlClient (and PgClient) the store runs on. */
export const layer = (options: Options): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError | ConfigError.ConfigError> =>
  PgClient.layer({
    url: options.url,
    maxConnections: options.maxConnections ?? 10,
    applicationName: "troupe",
    types
  })
