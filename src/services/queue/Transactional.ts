import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Problems from "../../domain/Problems.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import * as TaskRef from "../../domain/TaskRef.js"
import { InvalidPayload, StoreError } from "../../domain/TaskErrors.js"
import type { InvalidDependency, QueueFull } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as PgDialect from "../store/postgres/dialect.js"
import * as Sql from "../store/sqlite/sql.js"
import * as Statements from "../store/sqlite/statements.js"
import { submitSignals } from "../store/TaskStore.js"
import * as Dependencies from "./Dependencies.js"
import * as Submission from "./Submission.js"
import type { SubmitOptions } from "./TaskQueue.js"

// Submitting inside the application's own database transaction (its SqlClient on the database
// troupe's nodes share): the task exists if and only if the transaction commits, with the
// business rows it wrote. The same statements as the store's insert, on the transaction's
// connection; on PostgreSQL the nodes are notified in the same transaction, so they hear of
// the task when it commits, not before.

export type TransactionalError = InvalidPayload | InvalidDependency | QueueFull | StoreError

/** Options as for TaskQueue.submit; priority aging uses `agingStep` (default 30 s, as the runtime's). */
export type Item<D = TaskDefinition.Any> = TaskRef.ItemOf<D>

const storeError = (e: SqlError) =>
  new StoreError({
    message: `task store (in the application's transaction): ${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}` +
      " (are troupe's tables on this database? a troupe node creates them when it starts)"
  })

/**
 * Validates every item, then inserts them on the current transaction of the SqlClient in
 * context (one of its own, as a savepoint, when there is none): nothing of them exists unless
 * that transaction commits. Returns their ids in order; an id or idempotency key already
 * present gives the existing task's id.
 */
export const submitMany = <const Ds extends ReadonlyArray<TaskDefinition.Any>>(
  items: TaskRef.Items<Ds>,
  agingStepMs = 30_000
): Effect.Effect<TaskRef.Refs<Ds>, TransactionalError, SqlClient.SqlClient> =>
  Effect.map(insertMany(items, agingStepMs), (ids) => ids as TaskRef.Refs<Ds>)

const insertMany = (
  items: ReadonlyArray<TaskRef.AnyItem>,
  agingStepMs: number
): Effect.Effect<ReadonlyArray<TaskId>, TransactionalError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const tasks: Array<Submission.Prepared> = []
    for (const { definition, options, payload } of items) {
      const encoded = definition.encodePayload(payload)
      if (Either.isLeft(encoded)) {
        return yield* new InvalidPayload({ taskType: definition.name, message: Problems.message(encoded.left, "payload") })
      }
      tasks.push(yield* Submission.prepare(definition, encoded.right, options ?? {}, now, agingStepMs))
    }
    yield* Dependencies.checkAcyclic(tasks)
    const sql = yield* SqlClient.SqlClient
    const postgres = sql.onDialectOrElse({ pg: () => true, orElse: () => false })
    return yield* sql.withTransaction(Effect.gen(function*() {
      // withTransaction provides it (its type does not say so).
      const [connection] = Option.getOrThrow(yield* Effect.serviceOption(SqlClient.TransactionConnection))
      const inserted = yield* Statements.insertTasks(tasks, undefined).pipe(
        Effect.provideService(Sql.Connection, postgres ? PgDialect.connection(connection) : connection),
        Effect.provideService(Sql.Functions, postgres ? PgDialect.functions : Sql.sqliteFunctions)
      )
      // Heard by the nodes when (and if) the application's transaction commits.
      if (postgres) for (const kind of submitSignals(tasks)) yield* connection.executeRaw(`SELECT pg_notify('${PgDialect.channel}', '${kind}')`, [])
      // A task whose idempotency key was taken already: the existing task's id.
      const keys = tasks.flatMap((t, i) => (inserted.created[i] === true || t.idempotencyKey === null ? [] : [t.idempotencyKey]))
      const existing = new Map<string, TaskId>()
      if (keys.length > 0) {
        const rows = (yield* connection.execute(
          (postgres ? PgDialect.toPostgres : (text: string) => text)(`SELECT id, idempotency_key FROM tasks WHERE idempotency_key IN ${Sql.tuple(keys.length)}`),
          keys,
          undefined
        )) as ReadonlyArray<{ readonly id: TaskId; readonly idempotency_key: string }>
        for (const row of rows) existing.set(row.idempotency_key, row.id)
      }
      return tasks.map((t) => (t.idempotencyKey === null ? undefined : existing.get(t.idempotencyKey)) ?? t.id)
    })).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError(e))))
  })

/** One task, as `submitMany`. */
export const submit = <P, PI, S, SI, F, FI, N extends string>(
  definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI, N>,
  payload: P,
  options?: SubmitOptions
): Effect.Effect<TaskRef.RefOf<P, PI, S, SI, F, FI, N>, TransactionalError, SqlClient.SqlClient> =>
  Effect.map(insertMany([{ definition, payload, ...(options === undefined ? {} : { options }) }], 30_000), (ids) => TaskRef.unsafeOf(ids[0]!))
