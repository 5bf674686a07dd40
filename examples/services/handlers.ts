/**
 * The services example's handlers module. `Quote` needs a database connection: the module
 * provides one per worker thread (Handlers.provide), opened when the thread starts, reused by
 * every task it runs, closed when the thread is recycled or stops. `Notify` runs in-process and
 * needs the app's `Mailer`, which this module does not provide: the app gives it (main.ts).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { threadId } from "node:worker_threads"
import { Handlers } from "../../src/worker.js"
import { Notify, Quote } from "./tasks.js"

/** The app's mailer (an in-process service the app provides). */
export class Mailer extends Context.Tag("example/Mailer")<Mailer, { readonly send: (to: string, text: string) => Effect.Effect<string> }>() {}

/** One read-only connection per thread to the catalog file named by CATALOG_DB. */
const CatalogLive = Layer.unwrapEffect(Effect.sync(() =>
  SqliteClient.layer({ filename: process.env["CATALOG_DB"] ?? "catalog.db", readonly: true })
))

const connection = `worker thread ${threadId}`

export default Handlers.provide(
  Handlers.make(
    Quote.handler(({ items, order }) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ cents: number }>`SELECT cents FROM prices WHERE item IN ${sql.in(items)}`.pipe(Effect.orDie)
        return { order, cents: rows.reduce((n, r) => n + r.cents, 0), connection }
      })),
    Notify.handler(({ order }) => Effect.flatMap(Mailer, (mailer) => mailer.send("customer@example.test", `order ${order} is priced`)))
  ),
  CatalogLive
)
