/**
 * Handlers with services: `Quote` runs on worker threads, each with its own SQLite connection
 * (built once per thread by the handlers module); `Notify` runs in this process with the app's
 * `Mailer`. The runtime's layer requires `Mailer` because the app registers the handlers itself.
 *
 *   npm run build && node dist/examples/services/main.js
 */
import { NodeRuntime } from "@effect/platform-node"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Troupe } from "../../src/index.js"
import { TaskQueue } from "../../src/services/queue/TaskQueue.js"
import handlers, { Mailer } from "./handlers.js"
import { Notify, Quote } from "./tasks.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-services-example-"))
// Worker threads read the catalog's path from the environment they inherit.
process.env["CATALOG_DB"] = path.join(dir, "catalog.db")

/** Writes the catalog the threads read. */
const catalog = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE prices (item TEXT PRIMARY KEY, cents INTEGER NOT NULL)`
  yield* sql`INSERT INTO prices ${sql.insert([{ item: "apple", cents: 50 }, { item: "bread", cents: 320 }, { item: "cheese", cents: 780 }])}`
}).pipe(Effect.provide(SqliteClient.layer({ filename: process.env["CATALOG_DB"] })))

const program = Effect.gen(function*() {
  const queue = yield* TaskQueue
  const orders = [["apple", "bread"], ["cheese"], ["apple", "cheese", "bread"]]
  const quotes = yield* queue.submitMany(orders.map((items, i) => ({ definition: Quote, payload: { order: `o${i + 1}`, items } })))
  for (const id of quotes) {
    const { cents, connection, order } = yield* queue.await(Quote, id)
    const sent = yield* queue.await(Notify, yield* queue.submit(Notify, { order }))
    yield* Console.log(`${order}: ${(cents / 100).toFixed(2)} (priced on ${connection}); ${sent}`)
  }
})

const MailerLive = Layer.succeed(Mailer, { send: (to, text) => Effect.succeed(`mailed ${to}: ${text}`) })

// The catalog first: each worker thread opens it as it starts.
Effect.zipRight(
  catalog,
  program.pipe(Effect.provide(Troupe.layer({
    database: ":memory:",
    handlers,
    // The same module, compiled next to this file, for the worker threads.
    handlersModule: fileURLToPath(new URL("./handlers.js", import.meta.url)),
    workers: 2,
    shutdownTimeout: 0
  }).pipe(Layer.provide(MailerLive))))
).pipe(
  Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))),
  NodeRuntime.runMain
)
