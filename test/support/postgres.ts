import * as PgClient from "@effect/sql-pg/PgClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as crypto from "node:crypto"

// PostgreSQL for the store's tests: the server on this machine (127.0.0.1:5432, trust auth;
// `.ci/run` starts it when it is down), a database of its own for each test that asks, so runs
// and files never see each other's rows.

/** The database new ones are created from (TROUPE_TEST_PG to point elsewhere). */
export const adminUrl = process.env["TROUPE_TEST_PG"] ?? "postgres://root@127.0.0.1:5432/test"

const withAdmin = <A, E>(f: (sql: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(Layer.build(PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1 })), (context) =>
    f(Context.get(context, PgClient.PgClient))))

/**
 * A new, empty database for the scope (dropped when it closes, connections and all); its URL.
 * `options`: what CREATE DATABASE is given besides the name (a collation, say).
 */
export const freshDatabaseWith = (options: string) => Effect.map(
  Effect.acquireRelease(
    Effect.orDie(withAdmin((sql) => {
      const name = `troupe_test_${process.pid}_${crypto.randomBytes(4).toString("hex")}`
      return Effect.as(sql.unsafe(`CREATE DATABASE ${name} ${options}`), name)
    })),
    (name) => Effect.orDie(withAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
  ),
  (name) => Redacted.make(adminUrl.replace(/\/[^/]*$/, `/${name}`))
)

export const freshDatabase = freshDatabaseWith("")
