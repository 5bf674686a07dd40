import { describe, expect, it } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import * as Transactional from "../../../src/services/queue/Transactional.js"
import { TaskStore } from "../../../src/services/store/TaskStore.js"
import { layerPostgres } from "../../../src/services/store/TaskStorePostgres.js"
import { freshDatabase } from "../../support/postgres.js"

// An application that already uses PgClient submits inside its own transaction: the task
// exists if and only if its business row does. Real PostgreSQL, a database per test; the
// store (a node) and the application each have their own pool, as in production.

const Ship = TaskDefinition.make("ship", { payload: Schema.Struct({ order: Schema.Int }) })

class Rejected extends Data.TaggedError("Rejected")<{}> {}

/** A troupe store (it migrates) and the application's own client, on one new database. */
const setup = Effect.gen(function*() {
  const url = yield* freshDatabase
  const store = Context.get(yield* Layer.build(layerPostgres({ url, maxConnections: 2 })), TaskStore)
  const app = Context.get(yield* Layer.build(PgClient.layer({ url, maxConnections: 2 })), PgClient.PgClient)
  yield* app.unsafe("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
  return { store, app }
})

/** The application's unit of work: an order row and its shipping task, in one transaction. */
const placeOrder = (order: number, fail: boolean) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(Effect.gen(function*() {
      yield* sql.unsafe("INSERT INTO orders (id) VALUES ($1)", [order])
      const id = yield* Transactional.submit(Ship, { order }, { idempotencyKey: `ship-${order}` })
      if (fail) return yield* new Rejected()
      return id
    })))

describe("submitting inside the application's PostgreSQL transaction", () => {
  it.live("committed: the order and its task exist, and nodes hear of it; rolled back: neither does", () =>
    Effect.scoped(Effect.gen(function*() {
      const { app, store } = yield* setup
      const heard = yield* Queue.unbounded<string>()
      yield* Effect.forkScoped(Stream.runForEach(store.signals, (s) => Queue.offer(heard, s)))
      // Listening: a (re)connected listener first hears every kind once.
      expect([yield* Queue.take(heard), yield* Queue.take(heard), yield* Queue.take(heard)]).toStrictEqual(["ready", "timer", "control"])
      const id = yield* placeOrder(1, false).pipe(Effect.provideService(SqlClient.SqlClient, app))
      expect((yield* store.get(id)).status).toBe("pending")
      expect(yield* Queue.take(heard)).toBe("ready")
      const failed = yield* Effect.either(placeOrder(2, true).pipe(Effect.provideService(SqlClient.SqlClient, app)))
      expect(failed._tag === "Left" && failed.left._tag).toBe("Rejected")
      // The rolled-back transaction told no one: the next notification heard is a later one.
      yield* app.unsafe("SELECT pg_notify('troupe_work', 'control')")
      expect(yield* Queue.take(heard)).toBe("control")
      expect(yield* app.unsafe("SELECT id FROM orders ORDER BY id")).toStrictEqual([{ id: 1 }])
      expect((yield* store.list({ limit: 10 })).map((t) => t.payload)).toStrictEqual([{ order: 1 }])
      // The same idempotency key in a later transaction gives the existing task.
      const again = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(Transactional.submit(Ship, { order: 1 }, { idempotencyKey: "ship-1" })))
        .pipe(Effect.provideService(SqlClient.SqlClient, app))
      expect(again).toBe(id)
    })), 30_000)

  it.live("a bad payload is a typed error before anything is written; no tables is a StoreError that says why", () =>
    Effect.scoped(Effect.gen(function*() {
      const { app } = yield* setup
      const bad = yield* Effect.either(Transactional.submit(Ship, { order: 1.5 }).pipe(Effect.provideService(SqlClient.SqlClient, app)))
      expect(bad._tag === "Left" && bad.left._tag).toBe("InvalidPayload")
      const url = yield* freshDatabase
      const bare = Context.get(yield* Layer.build(PgClient.layer({ url, maxConnections: 1 })), PgClient.PgClient)
      const missing = yield* Effect.either(Transactional.submit(Ship, { order: 1 }).pipe(Effect.provideService(SqlClient.SqlClient, bare)))
      expect(missing._tag === "Left" && missing.left._tag).toBe("StoreError")
      expect(missing._tag === "Left" && missing.left.message).toContain("a troupe node creates them when it starts")
    })), 30_000)
})
