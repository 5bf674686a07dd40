import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { Log } from "../../domain/Activity.js"
import type * as Health from "../../domain/Health.js"
import * as Resources from "../../domain/Resources.js"
import type { Stats } from "../../domain/Stats.js"
import type { TaskGraph } from "../../domain/TaskGraph.js"
import * as Problems from "../../domain/Problems.js"
import type * as TaskSchedule from "../../domain/TaskSchedule.js"
import * as TaskType from "../../domain/TaskType.js"
import type { SubmitOptions } from "../../domain/SubmitOptions.js"
import type { Task } from "../../domain/Task.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import * as TaskRef from "../../domain/TaskRef.js"
import {
  InvalidDependency,
  InvalidPayload,
  InvalidSchedule,
  InvalidTransition,
  QueueFull,
  StoreError,
  TaskCancelled,
  TaskFailed,
  TaskNotFound,
  UnknownTaskType
} from "../../domain/TaskErrors.js"
import type { EventsOverflow } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as TaskStatus from "../../domain/TaskStatus.js"
import { MemoryPressure } from "../resources/MemoryPressure.js"
import { Registry } from "./Registry.js"
import { ResourceGovernor } from "../resources/ResourceGovernor.js"
import { Scheduler } from "../scheduler/Scheduler.js"
import * as Report from "./Report.js"
import * as Schedules from "./Schedules.js"
import * as RemoteFinals from "./RemoteFinals.js"
import * as Outcome from "./Outcome.js"
import * as Streams from "./Streams.js"
import * as Submitting from "./Submit.js"
import * as Control from "./Control.js"
import type { TaskEvent } from "../events/TaskEvents.js"
import { TaskEvents } from "../events/TaskEvents.js"
import type { ListQuery } from "../store/TaskStore.js"
import { TaskStore } from "../store/TaskStore.js"
import { Telemetry } from "../telemetry/Telemetry.js"

/** Per-submit options (their one definition: domain/SubmitOptions.ts). */
export type { SubmitOptions } from "../../domain/SubmitOptions.js"

/** One item of a `submitManyEncoded`: a type name and its payload in encoded form. */
export interface EncodedItem {
  readonly type: string
  readonly payload: unknown
  readonly options?: SubmitOptions
}

/** What `pause` and `resume` apply to: one task, a task type, or the whole queue. */
export type Target =
  | { readonly task: TaskId }
  | { readonly type: string }
  | { readonly queue: true }

/**
 * One item of a `submitMany`, of a definition or (given a union) of one of several: build a
 * mixed list as `Array<Submit<typeof A | typeof B>>` and each item is checked against its own.
 */
export type Submit<D> = TaskRef.ItemOf<D>

export type { TaskRef } from "../../domain/TaskRef.js"

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
  /** A node silent this long is shown dead (the scheduler's node timeout; default 10 s). */
  readonly nodeTimeoutMs?: number
}

/**
 * The public client. Submits are validated against the definition's Schema and acknowledged
 * only once durable; `await` decodes the typed result. Works without a scheduler in the same
 * process (a producer-only app), polling the store for other processes' progress.
 */
export class TaskQueue extends Context.Tag("troupe/TaskQueue")<TaskQueue, {
  /** Validates and stores one task; returns its id (tied to the definition: TaskRef) once durable. */
  readonly submit: <P, PI, S, SI, F, FI, N extends string>(
    definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI, N>,
    payload: P,
    options?: SubmitOptions
  ) => Effect.Effect<TaskRef.RefOf<P, PI, S, SI, F, FI, N>, SubmitError>
  /**
   * Validates every item first (each payload against its own item's definition, in the types
   * too), then stores them all in one commit; nothing is stored on error. The ids in order.
   */
  readonly submitMany: <const Ds extends ReadonlyArray<TaskDefinition.Any>>(items: TaskRef.Items<Ds>) => Effect.Effect<TaskRef.Refs<Ds>, SubmitError>
  /** Submits by type name with an encoded payload (CLI, HTTP); the type must be registered. */
  readonly submitEncoded: (type: string, payload: unknown, options?: SubmitOptions) => Effect.Effect<TaskId, SubmitError>
  /** Several by type name, every one checked first, then one commit; nothing is stored on error. */
  readonly submitManyEncoded: (items: ReadonlyArray<EncodedItem>) => Effect.Effect<ReadonlyArray<TaskId>, SubmitError>
  /** Reads one task. */
  readonly get: (id: TaskId) => Effect.Effect<Task, TaskNotFound | StoreError>
  /** Lists tasks, filtered by status and type, oldest first, a page at a time. */
  readonly list: (query: ListQuery) => Effect.Effect<ReadonlyArray<Task>, StoreError>
  /** Waits for the task to end; the typed success, or its typed failure / TaskFailed / TaskCancelled. */
  readonly await: <P, PI, S, SI, F, FI, N extends string>(
    definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI, N>,
    /** What `submit` returned for this definition, or a plain id. */
    id: TaskRef.RefOf<P, PI, S, SI, F, FI, N>
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
  /**
   * A task's log lines: stored ones, then with `follow` live ones until it ends; with `after`,
   * only the lines past that one (a reader resuming where it stopped).
   */
  readonly logs: (id: TaskId, options?: { readonly follow?: boolean; readonly after?: Streams.LogPosition }) => Stream.Stream<Log, TaskNotFound | StoreError | EventsOverflow>
  /** One task's status changes, progress and log lines, from a snapshot until it ends. */
  readonly watch: (id: TaskId) => Stream.Stream<TaskEvent, TaskNotFound | StoreError | EventsOverflow>
  /**
   * Every status change, progress report and log line in this process, from now on. A reader
   * that falls far behind is let go with EventsOverflow rather than slowing the queue.
   */
  readonly events: Stream.Stream<TaskEvent, EventsOverflow>
  /** Counts, throughput, run and wait times, workers and health. */
  readonly stats: Effect.Effect<Stats, StoreError>
  /** A task's dependencies upstream and downstream, each with its status. */
  readonly graph: (id: TaskId) => Effect.Effect<TaskGraph, TaskNotFound | StoreError>
  /** The task types this process knows (its handlers module), by name. */
  readonly types: ReadonlyArray<TaskType.TaskType>
  /** Healthy, warning, critical or offline, with the reasons. */
  readonly health: Effect.Effect<Health.Health>
  /**
   * Submits the task again and again, by a cron expression (in a time zone) or every so often,
   * each occurrence once however many processes share the store (docs: Schedules). Replaces a
   * schedule of the same name. Fired by every process whose handlers know the type.
   */
  readonly schedule: <P, PI, S, SI, F, FI>(
    name: string,
    definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI>,
    payload: P,
    options: TaskSchedule.ScheduleOptions
  ) => Effect.Effect<TaskSchedule.TaskSchedule, ScheduleError>
  /** `schedule` by type name with an encoded payload (CLI, HTTP). */
  readonly scheduleEncoded: (name: string, type: string, payload: unknown, options: TaskSchedule.ScheduleOptions) => Effect.Effect<TaskSchedule.TaskSchedule, ScheduleError>
  /** Removes a schedule (tasks it submitted stay); false when there was none of that name. */
  readonly unschedule: (name: string) => Effect.Effect<boolean, StoreError>
  /** Every schedule, by name, with its next occurrence. */
  readonly schedules: Effect.Effect<ReadonlyArray<TaskSchedule.TaskSchedule>, StoreError>
}>() {}

export type ScheduleError = InvalidSchedule | InvalidPayload | UnknownTaskType | StoreError

export const make = (config: Config) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const events = yield* TaskEvents
    const registry = yield* Registry
    const scheduler = yield* Scheduler
    const governor = yield* ResourceGovernor
    const tracing = (yield* Telemetry).tracing

    const submit = yield* Submitting.make({ store, events, registry, scheduler, governor, config, tracing })
    const control = Control.make({ store, registry, scheduler, config, tracing })
    // The shared reads behind `await`, `watch` and `logs --follow` (its fibers live in the layer's scope).
    const remote = yield* RemoteFinals.make(store, events, config.pollIntervalMs, scheduler.runningHere)

    const reportInputs = {
      store,
      scheduler,
      governor,
      pressure: yield* MemoryPressure,
      thresholds: config.health,
      statsWindowMs: config.statsWindowMs,
      nodeTimeoutMs: config.nodeTimeoutMs ?? 10_000
    }
    // Schedules fire in the layer's scope, in every process that knows some task type.
    const schedules = yield* Schedules.make({ store, registry, submit: submit.submitManyEncoded, pollIntervalMs: config.pollIntervalMs })
    yield* Effect.forkScoped(schedules.run)

    const provided = <A, E>(stream: Stream.Stream<A, E, TaskEvents | TaskStore>) =>
      stream.pipe(Stream.provideService(TaskEvents, events), Stream.provideService(TaskStore, store))

    return TaskQueue.of({
      submit: (definition, payload, options) =>
        Effect.map(submit.submitMany([{ definition, payload, ...(options ? { options } : {}) }]), (ids) => TaskRef.unsafeOf(ids[0]!)),
      submitMany: <const Ds extends ReadonlyArray<TaskDefinition.Any>>(items: TaskRef.Items<Ds>) =>
        Effect.map(submit.submitMany(items), (ids) => ids as TaskRef.Refs<Ds>),
      submitEncoded: submit.submitEncoded,
      submitManyEncoded: submit.submitManyEncoded,
      get: store.get,
      list: store.list,
      // This process's own ends and the shared reads (RemoteFinals: ended before the wait, or
      // in another process) resolve the wait; nothing of the task is held meanwhile.
      await: (definition, id) =>
        Effect.flatMap(events.awaitFinal(id, remote.check(id)), (final) =>
          // Completed here: the result came with the event. Otherwise read once the wait is
          // over (a waiting fiber holds no statement).
          final !== undefined
            ? Outcome.decodePublished(definition, id, final.result)
            : Effect.flatMap(store.get(id), (task) => Outcome.decode(definition, task))),
      counts: store.counts,
      ...control,
      logs: (id, options) => provided(Streams.logs(id, options?.follow === true, options?.after)),
      watch: (id) => provided(Streams.watch(id)),
      events: provided(Streams.events),
      stats: Report.stats(reportInputs),
      graph: (id) => Effect.zipRight(store.get(id), store.graph(id)),
      types: registry.names.flatMap((name) => Option.toArray(Option.map(registry.definition(name), TaskType.of))),
      health: Report.health(reportInputs),
      schedule: (name, definition, payload, options) =>
        Either.match(definition.encodePayload(payload), {
          onLeft: (e) => Effect.fail(new InvalidPayload({ taskType: definition.name, message: Problems.message(e, "payload") })),
          onRight: (encoded) => schedules.put(name, definition.name, encoded, options)
        }),
      scheduleEncoded: schedules.put,
      unschedule: schedules.remove,
      schedules: schedules.list
    })
  })

/** The client, with the shared reads that see tasks end in other processes (or before a wait). */
export const layer = (config: Config) => Layer.scoped(TaskQueue, make(config))
