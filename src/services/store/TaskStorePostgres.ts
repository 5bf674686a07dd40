import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { StoreError } from "../../domain/TaskErrors.js"
import * as Client from "./postgres/client.js"
import * as Dialect from "./postgres/dialect.js"
import { listen } from "./postgres/listen.js"
import * as Migrations from "./postgres/migrations.js"
import { TaskStore } from "./TaskStore.js"
import type { StoreSignal } from "./TaskStore.js"
import type { Signals } from "./TaskStoreSqlite.js"
import { make } from "./TaskStoreSqlite.js"

// The TaskStore on PostgreSQL: the same implementation as on SQLite (TaskStoreSqlite.make),
// with PostgreSQL's migrations and statement text (postgres/dialect.ts), and LISTEN/NOTIFY so
// that a node hears at once when another made work ready.

export interface PostgresOptions {
  /** postgres://user@host:port/database */
  readonly url: Redacted.Redacted<string>
  /** Connections in this node's pool (default 10). */
  readonly maxConnections?: number
}

const channel = Dialect.channel

const kinds: ReadonlyArray<StoreSignal> = ["ready", "timer", "control"]

/**
 * NOTIFY after writes, the signal as payload (one per burst of each kind: what asks while one
 * is being sent is folded into the next; `pg_notify`, as FIELD-NOTES says PgClient.notify is
 * broken in 0.53), and LISTEN on a connection of its own (postgres/listen.ts) that reconnects a
 * second after it is lost (polling and the lease heartbeat cover the gap).
 */
const signals = (url: Redacted.Redacted<string>) => Effect.gen(function*() {
  const pg = yield* PgClient.PgClient
  const senders = yield* Effect.forEach(kinds, (kind) =>
    Effect.gen(function*() {
      const wanted = yield* Queue.sliding<void>(1)
      // Never an empty payload: PgClient.listen (0.53) drops notifications whose payload is empty.
      const send = Effect.ignore(pg.unsafe(`SELECT pg_notify('${channel}', '${kind}')`))
      // A notification taken is sent whole; one still wanted when the store closes is sent then
      // (a process that submits and exits must still wake the others).
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Queue.take(wanted), Effect.uninterruptible(send))))
      yield* Effect.addFinalizer(() => Effect.flatMap(Queue.poll(wanted), (pending) => (pending._tag === "Some" ? send : Effect.void)))
      return [kind, wanted] as const
    }))
  const queues = new Map(senders)
  // After each (re)connection every kind is heard once: what was said meanwhile is not known.
  const heard = listen(url, channel, kinds).pipe(
    Stream.map((payload): StoreSignal => (payload === "control" || payload === "timer" ? payload : "ready")),
    Stream.retry(Schedule.spaced("1 second")),
    // The schedule never ends; the type does not know it.
    Stream.catchAll(() => Stream.empty)
  )
  return {
    notify: (signal) => Effect.asVoid(Queue.offer(queues.get(signal)!, undefined)),
    heard
  } satisfies Signals
})

/** Connects, migrates (under the advisory lock) and serves; the pool closes with the layer. */
export const layerPostgres = (options: PostgresOptions): Layer.Layer<TaskStore, StoreError> =>
  Layer.scoped(
    TaskStore,
    Effect.flatMap(signals(options.url), (s) => make({ migrate: Migrations.migrate, connection: Dialect.connection, functions: Dialect.functions, signals: s, session: Dialect.session, holdWriter: true }))
  ).pipe(
    Layer.provide(Client.layer(options).pipe(
      Layer.mapError((e) => new StoreError({ message: `PostgreSQL: cannot connect: ${e.message}`, cause: e }))
    ))
  )
