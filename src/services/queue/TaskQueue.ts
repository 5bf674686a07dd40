import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Log } from "../../domain/Activity.js"
import type * as Health from "../../domain/Health.js"
import type * as Priority from "../../domain/Priority.js"
import * as Rank from "../../domain/Rank.js"
import * as Resources from "../../domain/Resources.js"
import type { Stats } from "../../domain/Stats.js"
import type { RetryPolicyInput } from "../../domain/RetryPolicy.js"
import type { Task } from "../../domain/Task.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import {
  InvalidDependency,
  InvalidPayload,
  InvalidTransition,
  QueueFull,
  StoreError,
  TaskCancelled,
  TaskFailed,
  TaskNotFound,
  UnknownTaskType
} from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as TaskIdModule from "../../domain/TaskId.js"
import * as TaskStatus from "../../domain/TaskStatus.js"
import * as Trace from "../../domain/Trace.js"
import * as Transition from "../../domain/Transition.js"
import { MemoryPressure } from "../resources/MemoryPressure.js"
import { Registry } from "./Registry.js"
import { ResourceGovernor } from "../resources/ResourceGovernor.js"
import { Scheduler } from "../scheduler/Scheduler.js"
import * as Dependencies from "./Dependencies.js"
import * as Report from "./Report.js"
import * as RemoteFinals from "./RemoteFinals.js"
import * as Streams from "./Streams.js"
import * as Submission from "./Submission.js"
import type { TaskEvent } from "../events/TaskEvents.js"
import { TaskEvents } from "../events/TaskEvents.js"
import type { Applied, Change, ListQuery } from "../store/TaskStore.js"
import { TaskStore } from "../store/TaskStore.js"
import { Telemetry } from "../telemetry/Telemetry.js"

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
  /** Tasks that must complete first (ids already stored, or of the same submitMany). */
  readonly dependsOn?: ReadonlyArray<string>
  /** What it needs while it runs (cpu units, memory MiB, gpus), over the definition's. */
  readonly resources?: Resources.Requirements
}

/** What `pause` and `resume` apply to: one task, a task type, or the whole queue. */
export type Target =
  | { readonly task: TaskId }
  | { readonly type: string }
  | { readonly queue: true }

/** One item of a `submitMany`. */
export interface Submit<D extends TaskDefinition.TaskDefinition<never, never, unknown, unknown, unknown, unknown>> {
  readonly definition: D
  readonly payload: TaskDefinition.Payload<D>
  readonly options?: SubmitOptions
}

export type SubmitError =
  | InvalidPayload
  | UnknownTaskType
  | InvalidDependency
  | QueueFull
  | Resources.ResourceUnsatisfiable
  | StoreError

/** Errors of the operations on one task. */
export type ControlError = TaskNotFound | InvalidTransition | StoreError

export interface Config {
  readonly agingStepMs: number
  /** How often one read looks for other processes' ends of awaited or watched tasks. */
  readonly pollIntervalMs: number
  /** Unfinished tasks the queue may hold; a submit past it fails with QueueFull. */
  readonly maxQueueSize: number | undefined
  readonly health: Health.Thresholds
  readonly statsWindowMs: number
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
  /**
   * Cancels a task that has not finished. A running attempt is interrupted where it runs (its
   * finalizers run) and not retried; dependents fail with DependencyFailed.
   */
  readonly cancel: (id: TaskId) => Effect.Effect<void, ControlError>
  /**
   * Pauses a waiting task (it keeps its place), or stops dispatching a task type or the whole
   * queue (running attempts finish; a running task cannot be paused: cancel it instead).
   */
  readonly pause: (target: Target) => Effect.Effect<void, ControlError | UnknownTaskType>
  /** Undoes `pause`; paused tasks run in their original order. */
  readonly resume: (target: Target) => Effect.Effect<void, ControlError | UnknownTaskType>
  /** Runs a failed or cancelled task again, with a fresh attempt budget (its errors are kept). */
  readonly retry: (id: TaskId) => Effect.Effect<void, ControlError>
  /** Deletes a finished task and its logs; `force` cancels an unfinished one first. */
  readonly delete: (id: TaskId, options?: { readonly force?: boolean }) => Effect.Effect<void, ControlError>
  /** A task's log lines: stored ones, then with `follow` live ones until it ends. */
  readonly logs: (id: TaskId, options?: { readonly follow?: boolean }) => Stream.Stream<Log, TaskNotFound | StoreError>
  /** One task's status changes, progress and log lines, from a snapshot until it ends. */
  readonly watch: (id: TaskId) => Stream.Stream<TaskEvent, TaskNotFound | StoreError>
  /** Every status change, progress report and log line in this process, from now on. */
  readonly events: Stream.Stream<TaskEvent>
  /** Counts, throughput, run and wait times, workers and health. */
  readonly stats: Effect.Effect<Stats, StoreError>
  /** Healthy, warning, critical or offline, with the reasons. */
  readonly health: Effect.Effect<Health.Health>
}>() {}

const parseMessage = (e: ParseResult.ParseError) => e.message

export const make = (config: Config) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const events = yield* TaskEvents
    const registry = yield* Registry
    const scheduler = yield* Scheduler
    const governor = yield* ResourceGovernor
    const newId = TaskIdModule.makeGenerator()
    const tracing = (yield* Telemetry).tracing

    const unknownType = (name: string): UnknownTaskType | undefined =>
      registry.names.length === 0 || Option.isSome(registry.definition(name))
        ? undefined
        : new UnknownTaskType({ taskType: name, known: registry.names })

    /**
     * Stores validated tasks. Tracing on: under a `troupe.submit` span whose traceparent is
     * stored with each task, so its dispatches and attempts continue the submitter's trace.
     */
    const store_ = (news: ReadonlyArray<Submission.Prepared>): Effect.Effect<Array<TaskId>, SubmitError> => {
      if (!tracing) return storeNow(news)
      const attributes: Record<string, unknown> = { "task.count": news.length }
      if (news.length === 1) {
        attributes["task.id"] = news[0]!.id
        attributes["task.type"] = news[0]!.type
        attributes["task.priority"] = news[0]!.priority
      }
      return Effect.useSpan("troupe.submit", { kind: "producer", attributes }, (span) => {
        const traceParent = Trace.encode(span) ?? null
        return Effect.withParentSpan(storeNow(news.map((t) => ({ ...t, traceParent }))), span)
      })
    }

    const storeNow = (news: ReadonlyArray<Submission.Prepared>) =>
      Effect.gen(function*() {
        if (news.some((t) => t.dependsOn.length > 0)) yield* Dependencies.checkAcyclic(news)
        const stored = yield* store.insert(news, config.maxQueueSize === undefined ? {} : { maxActive: config.maxQueueSize })
        const ready = stored.filter((t) => t.status === "pending")
        if (ready.length > 0) {
          yield* scheduler.notifyReady(
            ready.map((t) => ({ id: t.id, type: t.type, priority: t.priority, rank: t.rank, seq: t.seq, key: t.key, resources: t.resources }))
          )
        }
        if (stored.some((t) => t.status === "delayed")) yield* scheduler.notifyDelayed
        return stored.map((t) => t.id)
      })

    /** Validates every item synchronously; the first bad one fails the whole submit. */
    const prepareAll = (
      items: ReadonlyArray<{ readonly definition: TaskDefinition.Any; readonly payload: unknown; readonly encoded?: boolean; readonly options?: SubmitOptions }>,
      now: number
    ): Either.Either<Array<Submission.Prepared>, InvalidPayload | UnknownTaskType | Resources.ResourceUnsatisfiable> => {
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
        if (prepared.right.resources !== null) {
          const satisfiable = governor.check(item.definition.name, prepared.right.resources)
          if (Either.isLeft(satisfiable)) return Either.left(satisfiable.left)
        }
        out.push(prepared.right)
      }
      return Either.right(out)
    }

    const submitMany: Context.Tag.Service<TaskQueue>["submitMany"] = (items) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const news = yield* prepareAll(items, now)
        return yield* store_(news)
      })

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

    /** Publishes changes made here and lets the scheduler schedule what they freed. */
    const notify = (changes: ReadonlyArray<Change>): Effect.Effect<void, StoreError> => scheduler.notifyChanges(changes)

    /**
     * Applies one lifecycle event to one task; when the store changes nothing, says why: the
     * task does not exist, or the event is illegal from its status.
     */
    const control = (
      id: TaskId,
      event: Transition.TaskEvent,
      apply: (ids: ReadonlyArray<TaskId>, now: number) => Effect.Effect<Applied, StoreError>
    ): Effect.Effect<Applied, ControlError> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const applied = yield* apply([id], now)
        if (applied.ids.length === 0) {
          const task = yield* store.get(id)
          return yield* Either.match(Transition.transition(id, task.status, event), {
            onLeft: (e) => Effect.fail(e),
            onRight: () =>
              Effect.fail(new InvalidTransition({ taskId: id, from: task.status, event, message: `task ${id} changed meanwhile; try again` }))
          })
        }
        yield* notify(applied.changes)
        return applied
      })

    const cancel = (id: TaskId) =>
      Effect.asVoid(Effect.tap(control(id, "cancel", store.cancel), () => scheduler.interrupt([id]))).pipe(tracing ? Effect.withSpan("TaskQueue.cancel", { attributes: { "task.id": id } }) : identity)

    const knownType = (type: string): Effect.Effect<void, UnknownTaskType> =>
      registry.names.length === 0 || registry.names.includes(type)
        ? Effect.void
        : Effect.fail(new UnknownTaskType({ taskType: type, known: registry.names }))

    const gate = (target: Target, paused: boolean) =>
      Effect.gen(function*() {
        if ("task" in target) {
          yield* control(target.task, paused ? "pause" : "resume", paused ? store.pause : store.resume)
          return
        }
        if ("type" in target) yield* knownType(target.type)
        const now = yield* Clock.currentTimeMillis
        yield* store.setPaused("type" in target ? { type: target.type } : {}, paused, now)
        yield* scheduler.refreshPauses
      })

    const reportInputs = {
      store,
      scheduler,
      pressure: yield* MemoryPressure,
      thresholds: config.health,
      statsWindowMs: config.statsWindowMs
    }
    const provided = <A, E>(stream: Stream.Stream<A, E, TaskEvents | TaskStore>) =>
      stream.pipe(Stream.provideService(TaskEvents, events), Stream.provideService(TaskStore, store))

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
      // This process's own ends and other processes' (RemoteFinals) resolve the wait; nothing
      // of the task is held meanwhile.
      await: (definition, id) =>
        Effect.zipRight(
          events.awaitFinal(id, Effect.suspend(() => Effect.map(store.get(id), (task) => TaskStatus.isFinal(task.status)))),
          // Built once the wait is over: a waiting fiber holds no statement.
          Effect.suspend(() => Effect.flatMap(store.get(id), (task) => decodeOutcome(definition, task)))
        ),
      counts: store.counts,
      cancel,
      pause: (target) => gate(target, true),
      resume: (target) => gate(target, false),
      retry: (id) =>
        Effect.gen(function*() {
          // A task whose dependency did not complete would wait for it forever: retry that first.
          const task = yield* store.get(id)
          for (const dep of task.dependsOn) {
            const status = yield* Effect.map(Effect.either(store.get(dep)), (e) => (e._tag === "Right" ? e.right.status : undefined))
            if (status === undefined || status === "failed" || status === "cancelled") {
              return yield* Effect.fail(new InvalidTransition({
                taskId: id,
                from: task.status,
                event: "manualRetry",
                message: `task ${id} depends on ${dep}, which ${status === undefined ? "no longer exists" : `is ${status}`}; retry that first`
              }))
            }
          }
          yield* control(id, "manualRetry", (ids, now) => store.retry(ids, now, (priority) => Rank.rank(now, priority, config.agingStepMs)))
        }),
      delete: (id, options) =>
        Effect.gen(function*() {
          const task = yield* store.get(id)
          if (!TaskStatus.isFinal(task.status)) {
            if (options?.force !== true) {
              return yield* Effect.fail(new InvalidTransition({
                taskId: id,
                from: task.status,
                event: "delete",
                message: `task ${id} is ${task.status}; only a finished task can be deleted (force cancels it first)`
              }))
            }
            yield* cancel(id)
          }
          const removed = yield* store.remove([id])
          if (removed.length === 0) return yield* Effect.fail(new TaskNotFound({ taskId: id }))
        }),
      logs: (id, options) => provided(Streams.logs(id, options?.follow === true)),
      watch: (id) => provided(Streams.watch(id)),
      events: provided(Streams.events),
      stats: Report.stats(reportInputs),
      health: Report.health(reportInputs)
    })
  })

/** The client, with the one poller that sees other processes end awaited or watched tasks. */
export const layer = (config: Config) =>
  Layer.scoped(
    TaskQueue,
    Effect.tap(make(config), () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* Effect.forkScoped(RemoteFinals.poll(yield* TaskStore, yield* TaskEvents, config.pollIntervalMs, scheduler.runningHere))
      }))
  )
