import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { StoreError } from "../../domain/TaskErrors.js"

interface Op {
  readonly run: Effect.Effect<unknown, SqlError, SqlClient.SqlClient>
  readonly done: Deferred.Deferred<unknown, StoreError>
}

/** Most operations in one transaction; more wait for the next one. */
const MAX_OPS = 1024

const toStoreError = (e: SqlError) =>
  new StoreError({ message: `SQLite: ${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}`, cause: e.cause })

/**
 * Group commit: one writer fiber runs every queued write of the moment in a single
 * transaction and answers each caller only after COMMIT. No timer: while one transaction
 * runs, the next batch accumulates, so an idle submit commits at once and a busy store
 * shares each fsync among hundreds of writes. A failing operation fails alone; a failed
 * COMMIT fails every operation of its transaction.
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const queue = yield* Queue.unbounded<Op>()

  const writeBatch = (ops: ReadonlyArray<Op>) =>
    sql.withTransaction(
      Effect.forEach(ops, (op) => Effect.exit(Effect.provideService(op.run, SqlClient.SqlClient, sql)))
    ).pipe(
      Effect.flatMap((exits) =>
        Effect.forEach(ops, (op, i) => {
          const exit = exits[i]!
          return Exit.isSuccess(exit)
            ? Deferred.succeed(op.done, exit.value)
            : Deferred.failCause(op.done, Cause.map(exit.cause, toStoreError))
        }, { discard: true })
      ),
      Effect.catchAll((e) =>
        Effect.forEach(ops, (op) => Deferred.fail(op.done, toStoreError(e)), { discard: true })
      )
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
  yield* takeOps.pipe(
    Effect.flatMap(writeBatch),
    Effect.forever,
    Effect.forkScoped
  )

  /** Runs `run` in the next group transaction; resolves after it committed. */
  const write = <A>(run: Effect.Effect<A, SqlError, SqlClient.SqlClient>): Effect.Effect<A, StoreError> =>
    Effect.flatMap(Deferred.make<unknown, StoreError>(), (done) =>
      Effect.zipRight(Queue.offer(queue, { run, done }), Deferred.await(done) as Effect.Effect<A, StoreError>))

  return { write }
})

export type GroupCommit = Effect.Effect.Success<typeof make>
export type Requirements = SqlClient.SqlClient | Scope.Scope
