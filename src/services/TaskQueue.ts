import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Priority from "../domain/Priority.js"
import type { RetryPolicyInput } from "../domain/RetryPolicy.js"
import type { Task } from "../domain/Task.js"
import type * as TaskDefinition from "../domain/TaskDefinition.js"
import {
  InvalidPayload,
  StoreError,
  TaskCancelled,
  TaskFailed,
  TaskNotFound,
  UnknownTaskType
} from "../domain/TaskErrors.js"
import type { TaskId } from "../domain/TaskId.js"
import * as TaskIdModule from "../domain/TaskId.js"
import * as TaskStatus from "../domain/TaskStatus.js"
import { Registry } from "./Registry.js"
import { Scheduler } from "./Scheduler.js"
import * as Submission from "./taskQueue/Submission.js"
import { TaskEvents } from "./TaskEvents.js"
import type { ListQuery } from "./TaskStore.js"
import { TaskStore } from "./TaskStore.js"

/** Per-submit options; each overrides the definition's default. */
export interface SubmitOptions {
  /** Choose the id (letters, digits, _ . : -); a random one otherwise. */
  readonly id?: string
  readonly priority?: Priority.PriorityInput
  /** Run no earlier than this long from now. */
  readonly delay?: Duration.DurationInput
  /** Run no earlier than this instant (epoch ms). */
  readonly runAt?: number
  readonly retry?: RetryPolicyInput
  readonly timeout?: Duration.DurationInput
  /** Actor key: tasks with the same key run one at a time, in order. */
  readonly key?: string
  /** A second submit with the same key returns the first task instead of a new one. */
  readonly idempotencyKey?: string
}

/** One item of a `submitMany`. */
export interface Submit<D extends TaskDefinition.TaskDefinition<never, never, unknown, unknown, unknown, unknown>> {
  readonly definition: D
  readonly payload: TaskDefinition.Payload<D>
  readonly options?: SubmitOptions
}

export type SubmitError = InvalidPayload | UnknownTaskType | StoreError

export interface Config {
  readonly agingStepMs: number
  /** How often `await` re-reads the store for changes made by other processes. */
  readonly pollIntervalMs: number
}

/**
 * The public client. Submits are validated against the definition's Schema and acknowledged
 * only once durable; `await` decodes the typed result. Works without a scheduler in the same
 * process (a producer-only app), polling the store for other processes' progress.
 */
export class TaskQueue extends Context.Tag("troupe/TaskQueue")<TaskQueue, {
  /** Validates and stores one task; returns its id once durable. */
  readonly submit: <P, PI, S, SI, F, FI>(
    definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI>,
    payload: P,
    options?: SubmitOptions
  ) => Effect.Effect<TaskId, SubmitError>
  /** Validates every item first, then stores them all in one commit; nothing is stored on error. */
  readonly submitMany: (
    items: ReadonlyArray<{ readonly definition: TaskDefinition.Any; readonly payload: unknown; readonly options?: SubmitOptions }>
  ) => Effect.Effect<ReadonlyArray<TaskId>, SubmitError>
  /** Submits by type name with an encoded payload (CLI, HTTP); the type must be registered. */
  readonly submitEncoded: (type: string, payload: unknown, options?: SubmitOptions) => Effect.Effect<TaskId, SubmitError>
  /** Reads one task. */
  readonly get: (id: TaskId) => Effect.Effect<Task, TaskNotFound | StoreError>
  /** Lists tasks, filtered by status and type, oldest first, a page at a time. */
  readonly list: (query: ListQuery) => Effect.Effect<ReadonlyArray<Task>, StoreError>
  /** Waits for the task to end; the typed success, or its typed failure / TaskFailed / TaskCancelled. */
  readonly await: <P, PI, S, SI, F, FI>(
    definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI>,
    id: TaskId
  ) => Effect.Effect<S, F | TaskFailed | TaskCancelled | TaskNotFound | StoreError>
  /** Number of tasks in each status. */
  readonly counts: Effect.Effect<Readonly<Record<TaskStatus.TaskStatus, number>>, StoreError>
}>() {}

const parseMessage = (e: ParseResult.ParseError) => e.message

export const make = (config: Config) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const events = yield* TaskEvents
    const registry = yield* Registry
    const scheduler = yield* Effect.serviceOption(Scheduler)
    const newId = TaskIdModule.makeGenerator()

    const unknownType = (name: string): UnknownTaskType | undefined =>
      registry.names.length === 0 || Option.isSome(registry.definition(name))
        ? undefined
        : new UnknownTaskType({ taskType: name, known: registry.names })

    const store_ = (news: ReadonlyArray<Submission.Prepared>) =>
      Effect.gen(function*() {
        const stored = yield* store.insert(news)
        if (Option.isSome(scheduler)) {
          const ready = stored.filter((t) => t.status === "pending")
          if (ready.length > 0) {
            yield* scheduler.value.notifyReady(
              ready.map((t) => ({ id: t.id, type: t.type, priority: t.priority, rank: t.rank, seq: t.seq }))
            )
          }
          if (stored.some((t) => t.status === "delayed")) yield* scheduler.value.notifyDelayed
        }
        return stored.map((t) => t.id)
      })

    /** Validates every item synchronously; the first bad one fails the whole submit. */
    const prepareAll = (
      items: ReadonlyArray<{ readonly definition: TaskDefinition.Any; readonly payload: unknown; readonly encoded?: boolean; readonly options?: SubmitOptions }>,
      now: number
    ): Either.Either<Array<Submission.Prepared>, InvalidPayload | UnknownTaskType> => {
      const out: Array<Submission.Prepared> = []
      for (const item of items) {
        const unknown = unknownType(item.definition.name)
        if (unknown !== undefined) return Either.left(unknown)
        const encoded = item.encoded === true ? Either.right(item.payload) : item.definition.encodePayload(item.payload)
        if (Either.isLeft(encoded)) {
          return Either.left(new InvalidPayload({ taskType: item.definition.name, message: parseMessage(encoded.left) }))
        }
        const prepared = Submission.prepare(item.definition, encoded.right, item.options ?? {}, now, config.agingStepMs, newId)
        if (Either.isLeft(prepared)) return Either.left(prepared.left)
        out.push(prepared.right)
      }
      return Either.right(out)
    }

    const submitMany: Context.Tag.Service<TaskQueue>["submitMany"] = (items) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const news = yield* prepareAll(items, now)
        return yield* store_(news)
      }).pipe(Effect.withSpan("TaskQueue.submitMany", { attributes: { "task.count": items.length } }))

    const decodeOutcome = <P, PI, S, SI, F, FI>(
      definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI>,
      task: Task
    ): Effect.Effect<S, F | TaskFailed | TaskCancelled | StoreError> => {
      switch (task.status) {
        case "completed":
          return Schema.decodeUnknown(definition.success)(task.result).pipe(
            Effect.mapError((e) =>
              new StoreError({ message: `task ${task.id}: stored result does not match "${definition.name}": ${e.message}` })
            )
          )
        case "cancelled":
          return Effect.fail(new TaskCancelled({ taskId: task.id }))
        default: {
          const last = task.errors[task.errors.length - 1]
          const failed = new TaskFailed({ taskId: task.id, errors: task.errors })
          if (last?.error._tag !== "HandlerFailure") return Effect.fail(failed)
          return Schema.decodeUnknown(definition.failure)(last.error.error).pipe(
            Effect.matchEffect({ onFailure: () => Effect.fail(failed), onSuccess: (f) => Effect.fail(f) })
          )
        }
      }
    }

    return TaskQueue.of({
      submit: (definition, payload, options) =>
        Effect.map(submitMany([{ definition, payload, ...(options ? { options } : {}) }]), (ids) => ids[0]!),
      submitMany,
      submitEncoded: (type, payload, options) =>
        Effect.gen(function*() {
          const definition = yield* Option.match(registry.definition(type), {
            onNone: () => Effect.fail(new UnknownTaskType({ taskType: type, known: registry.names })),
            onSome: Effect.succeed
          })
          const encoded = yield* definition.validateEncoded(payload).pipe(
            Effect.mapError((e) => new InvalidPayload({ taskType: type, message: parseMessage(e) }))
          )
          const now = yield* Clock.currentTimeMillis
          const prepared = yield* prepareAll([{ definition, payload: encoded, encoded: true, ...(options ? { options } : {}) }], now)
          const ids = yield* store_(prepared)
          return ids[0]!
        }),
      get: store.get,
      list: store.list,
      await: (definition, id) =>
        Effect.scoped(Effect.gen(function*() {
          const finalSeen = yield* events.waitFinal(id)
          let task = yield* store.get(id)
          while (!TaskStatus.isFinal(task.status)) {
            yield* Effect.race(finalSeen, Effect.sleep(Duration.millis(config.pollIntervalMs)))
            task = yield* store.get(id)
          }
          return yield* decodeOutcome(definition, task)
        })),
      counts: store.counts
    })
  })

export const layer = (config: Config) => Layer.effect(TaskQueue, make(config))
