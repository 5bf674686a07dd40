import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import { StoreError } from "../../../domain/TaskErrors.js"
import { Connection } from "./sql.js"

interface Op {
  /** Fails with SqlError, or with a domain error that undoes the op alone (e.g. QueueFull). */
  readonly run: Effect.Effect<unknown, unknown, Connection>
  readonly done: Deferred.Deferred<unknown, unknown>
  /** It runs one statement: alone in its batch, it needs no transaction around it. */
  readonly single: boolean
}

/** Statements that set up the writer's connection, and undo it before it goes back (see `make`). */
export interface Session {
  readonly open: ReadonlyArray<string>
  readonly reset: ReadonlyArray<string>
}

const noSession: Session = { open: [], reset: [] }

/** Queued by the finalizer: the writer stops once it reaches it. */
const Stop = Symbol("GroupCommit/Stop")

/** Most operations in one transaction; more wait for the next one. */
const MAX_OPS = 1024

/** An operation of the shared transaction failed: roll it back and retry with each op isolated. */
class OpFailed extends Data.TaggedError("OpFailed")<{}> {}

const detail = (e: unknown): string => {
  if (e instanceof SqlError) return `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}`
  return e instanceof Error ? e.message : String(e)
}

/** Any SqlError as a StoreError with the driver's message. */
export const toStoreError = (e: SqlError): StoreError =>
  new StoreError({ message: `task store: ${detail(e)}`, cause: e.cause })

/**
 * Whatever ended a write, as a StoreError. The sql client turns a failed COMMIT into a defect
 * (and an op may throw, e.g. on a payload JSON cannot encode): callers still get a typed error.
 */
const causeToStoreError = (cause: Cause.Cause<unknown>): StoreError => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some" && failure.value instanceof StoreError) return failure.value
  const error = Cause.squash(cause)
  return new StoreError({ message: `task store: ${detail(error)}`, cause: error })
}

/**
 * Group commit: one writer fiber runs every queued write of the moment in a single
 * transaction and answers each caller only after COMMIT (a lone single-statement write: after
 * its statement, see below). No timer: while one transaction
 * runs, the next batch accumulates, so an idle submit commits at once and a busy store
 * shares each fsync among hundreds of writes.
 *
 * Operations do not make each other fail: the shared transaction runs them plainly (no
 * per-op savepoint on the fast path); if one fails, it is rolled back and re-run with a
 * savepoint per op, so the failing op alone is undone and reported while the others commit.
 * A failed COMMIT fails every operation of its transaction. Closing the scope commits what is
 * already queued; a write after that fails with StoreError.
 *
 * A write that runs a single statement and finds itself alone (an idle submit, an idle claim)
 * runs it as it is: one statement is atomic by itself, and BEGIN and COMMIT would be two more
 * round-trips on the latency path. It has no second try under savepoints (there is nothing to
 * isolate it from): its failure goes to its caller, as any failure of a shared COMMIT does.
 */
export const make = (
  /** The reserved connection as the store's statements need it (PostgreSQL: postgres/dialect.ts). */
  wrap: (connection: SqlConnection.Connection) => SqlConnection.Connection = (connection) => connection,
  /**
   * `open`: run once on each connection the writer takes, before its first statement
   * (PostgreSQL sets the isolation and the lock timeout of everything the writer runs, in or out
   * of BEGIN); `reset`: run before the connection goes back to the pool, so what `open` set
   * does not follow it into reads.
   */
  session: Session = noSession,
  /**
   * Keep the writer's connection between transactions (PostgreSQL: a pooled connection costs
   * ~0.6 ms to reserve through the client); not where reads share the one connection (SQLite).
   */
  hold = false
): Effect.Effect<GroupCommit, never, SqlClient.SqlClient | Scope.Scope> => Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const queue = yield* Queue.unbounded<Op | typeof Stop>()
  let closed = false

  const exec = (connection: SqlConnection.Connection, text: string) => connection.execute(text, [], undefined)
  const opened = (connection: SqlConnection.Connection) => Effect.forEach(session.open, (statement) => exec(connection, statement), { discard: true })

  // The held connection (with `hold`), and the scope that gives it back. Only the writer fiber
  // touches it; a transaction that fails gives it back, so a broken connection is not reused.
  let held: { readonly connection: SqlConnection.Connection; readonly scope: Scope.CloseableScope } | undefined
  const release = Effect.suspend(() => {
    const h = held
    held = undefined
    if (h === undefined) return Effect.void
    // A broken connection fails the reset; the pool drops it anyway.
    const reset = Effect.ignore(Effect.forEach(session.reset, (statement) => exec(h.connection, statement), { discard: true }))
    return Effect.zipRight(reset, Scope.close(h.scope, Exit.void))
  })
  yield* Effect.addFinalizer(() => release)
  const reserved: Effect.Effect<SqlConnection.Connection, SqlError, Scope.Scope> = hold
    ? Effect.suspend(() => {
      if (held !== undefined) return Effect.succeed(held.connection)
      return Effect.flatMap(Scope.make(), (scope) =>
        Effect.flatMap(Scope.extend(sql.reserve, scope), (connection) => {
          const wrapped = wrap(connection)
          return Effect.as(opened(wrapped), wrapped)
        }).pipe(
          Effect.tap((connection) => Effect.sync(() => (held = { connection, scope }))),
          Effect.onError(() => Scope.close(scope, Exit.void))
        ))
    })
    : Effect.flatMap(sql.reserve, (connection) => {
      const wrapped = wrap(connection)
      return Effect.as(opened(wrapped), wrapped)
    })

  /**
   * Runs `body` in one transaction on the connection, reserved for it (reads wait meanwhile):
   * committed when it succeeds, rolled back when it or the COMMIT fails.
   */
  const transaction = <A, E>(body: (connection: SqlConnection.Connection) => Effect.Effect<A, E, Connection>) =>
    Effect.scoped(Effect.flatMap(reserved, (connection) =>
      Effect.gen(function*() {
        yield* exec(connection, "BEGIN")
        const exit = yield* Effect.exit(Effect.zipLeft(
          Effect.provideService(body(connection), Connection, connection),
          exec(connection, "COMMIT")
        ))
        if (Exit.isFailure(exit)) yield* Effect.ignore(exec(connection, "ROLLBACK"))
        return yield* exit
        // The connection may be what failed: the next transaction reserves another.
      }).pipe(Effect.onError(() => release))))

  const shared = (ops: ReadonlyArray<Op>) =>
    transaction(() =>
      Effect.gen(function*() {
        const exits: Array<Exit.Exit<unknown, unknown>> = []
        for (const op of ops) {
          const exit = yield* Effect.exit(op.run)
          if (Exit.isFailure(exit)) return yield* new OpFailed()
          exits.push(exit)
        }
        return exits
      })
    )
  // Each op under its own savepoint: a failing one is undone alone.
  const isolated = (ops: ReadonlyArray<Op>) =>
    transaction((connection) =>
      Effect.forEach(ops, (op) =>
        Effect.gen(function*() {
          yield* exec(connection, "SAVEPOINT op")
          const exit = yield* Effect.exit(op.run)
          if (Exit.isFailure(exit)) yield* exec(connection, "ROLLBACK TO SAVEPOINT op")
          yield* exec(connection, "RELEASE SAVEPOINT op")
          return exit
        }))
    )

  const settle = (ops: ReadonlyArray<Op>, exits: ReadonlyArray<Exit.Exit<unknown, unknown>>) =>
    Effect.forEach(ops, (op, i) => {
      const exit = exits[i]!
      if (Exit.isSuccess(exit)) return Deferred.succeed(op.done, exit.value)
      // A domain error (the op decided to fail) reaches its caller as it is.
      const failure = Cause.failureOption(exit.cause)
      if (failure._tag === "Some" && !(failure.value instanceof SqlError)) return Deferred.fail(op.done, failure.value)
      return Deferred.fail(op.done, causeToStoreError(Cause.map(exit.cause, (e) => (e instanceof SqlError ? toStoreError(e) : e))))
    }, { discard: true })

  const failAll = (ops: ReadonlyArray<Op>, error: StoreError) =>
    Effect.forEach(ops, (op) => Deferred.fail(op.done, error), { discard: true })

  // A lone single-statement write, without BEGIN and COMMIT.
  const alone = (op: Op) =>
    Effect.scoped(Effect.flatMap(reserved, (connection) =>
      Effect.exit(Effect.provideService(op.run, Connection, connection)).pipe(
        Effect.tap((exit) => (Exit.isFailure(exit) ? release : Effect.void))
      ))).pipe(
        Effect.matchCauseEffect({
          onSuccess: (exit) => settle([op], [exit]),
          onFailure: (cause) => failAll([op], causeToStoreError(cause))
        }),
        Effect.uninterruptible
      )

  const writeBatch = (ops: ReadonlyArray<Op>) =>
    ops.length === 1 && ops[0]!.single ? alone(ops[0]!) : shared(ops).pipe(
      Effect.catchTag("OpFailed", () => isolated(ops)),
      Effect.matchCauseEffect({
        onSuccess: (exits) => settle(ops, exits),
        // BEGIN or COMMIT failed (rolled back): every op of the transaction fails.
        onFailure: (cause) => failAll(ops, causeToStoreError(cause))
      }),
      // A batch taken from the queue always finishes and answers its callers.
      Effect.uninterruptible
    )

  // Under load (the last transaction was shared), a lone write yields once first so every
  // fiber that is ready to write in this tick joins its transaction. At idle it goes straight
  // to the disk: no timer and no extra hop on the latency path.
  let lastShared = false
  const takeOps = Effect.gen(function*() {
    const first = yield* Queue.take(queue)
    let ops = [first, ...Chunk.toReadonlyArray(yield* Queue.takeUpTo(queue, MAX_OPS - 1))]
    if (ops.length === 1 && lastShared) {
      yield* Effect.yieldNow()
      ops = [first, ...Chunk.toReadonlyArray(yield* Queue.takeUpTo(queue, MAX_OPS - 1))]
    }
    lastShared = ops.length > 1
    return ops
  })

  // The writer stops at the Stop marker, after committing everything queued before it.
  const loop: Effect.Effect<void> = Effect.flatMap(takeOps, (taken) => {
    const stop = taken.indexOf(Stop)
    const ops = (stop === -1 ? taken : taken.slice(0, stop)) as ReadonlyArray<Op>
    const batch = ops.length === 0 ? Effect.void : writeBatch(ops)
    return stop === -1 ? Effect.zipRight(batch, loop) : batch
  })
  const writer = yield* Effect.forkScoped(loop)
  // Runs before the scope interrupts the writer: writes already queued still commit, and any
  // write after this point fails with StoreError instead of waiting forever.
  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      closed = true
      Queue.unsafeOffer(queue, Stop)
      return Fiber.await(writer)
    }))

  const write = <A, E>(run: Effect.Effect<A, E, Connection>, single = false): Effect.Effect<A, Exclude<E, SqlError> | StoreError> =>
    Effect.flatMap(Deferred.make<unknown, unknown>(), (done) =>
      Effect.suspend(() => {
        // Checked and offered in one synchronous step, so nothing is queued behind Stop.
        if (closed) return Effect.fail(new StoreError({ message: "the task store is closed" }))
        Queue.unsafeOffer(queue, { run, done, single })
        // The Deferred is only ever completed with `run`'s own result.
        return Deferred.await(done) as Effect.Effect<A, Exclude<E, SqlError> | StoreError>
      }))
  return { write }
})

/**
 * The writer: `write` runs statements in the next group transaction and resolves after COMMIT;
 * `single`: `run` is one statement (see `make`).
 */
export interface GroupCommit {
  readonly write: <A, E>(run: Effect.Effect<A, E, Connection>, single?: boolean) => Effect.Effect<A, Exclude<E, SqlError> | StoreError>
}
