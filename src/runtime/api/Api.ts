import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Log } from "../../domain/Activity.js"
import { Health } from "../../domain/Health.js"
import * as Problems from "../../domain/Problems.js"
import { ResourceUnsatisfiable } from "../../domain/Resources.js"
import { Stats } from "../../domain/Stats.js"
import { Task } from "../../domain/Task.js"
import {
  InvalidDependency,
  InvalidPayload,
  InvalidSchedule,
  InvalidTransition,
  QueueFull,
  StoreError,
  TaskNotFound,
  UnknownTaskType
} from "../../domain/TaskErrors.js"
import { TaskEvent } from "../../domain/TaskEvent.js"
import { TaskId } from "../../domain/TaskId.js"
import { TaskGraph } from "../../domain/TaskGraph.js"
import { TaskSchedule } from "../../domain/TaskSchedule.js"
import { TaskType } from "../../domain/TaskType.js"
import { TaskStatus } from "../../domain/TaskStatus.js"
import { params } from "./Params.js"

// The API, defined once: every JSON-RPC method with its params (api/Params.ts), the Schema of
// its result, the typed errors it may answer with, and a line saying what it does. The server
// encodes results and errors with it, the typed client (TroupeClient) decodes them with it, and
// the OpenRPC document is generated from it. Light: Schemas only, none of the runtime.

const submitErrors = [InvalidPayload, UnknownTaskType, InvalidDependency, QueueFull, ResourceUnsatisfiable, StoreError] as const
const controlErrors = [TaskNotFound, InvalidTransition, StoreError] as const
const targetErrors = [TaskNotFound, InvalidTransition, UnknownTaskType, StoreError] as const
const readErrors = [TaskNotFound, StoreError] as const
const storeErrors = [StoreError] as const

/** The answer of a method that only acts (JSON-RPC results cannot be absent: null). */
const Done = Schema.Null

export const Counts = Schema.Record({ key: TaskStatus, value: Schema.Number })

const method = <P extends Schema.Schema.Any, S extends Schema.Schema.Any, E extends ReadonlyArray<Schema.Schema.Any>>(
  summary: string,
  params: P,
  success: S,
  errors: E
) => ({ summary, params, success, errors })

export const api = {
  submit: method("Validates and stores one task; answers its id once durable.", params.submit, Schema.Struct({ id: TaskId }), submitErrors),
  submitMany: method(
    "Validates every task, then stores them all in one commit (nothing on error); answers their ids in order.",
    params.submitMany,
    Schema.Struct({ ids: Schema.Array(TaskId) }),
    submitErrors
  ),
  get: method("Reads one task.", params.get, Task, readErrors),
  list: method(
    "Lists tasks, filtered by status, type, key and id prefix, oldest first a page at a time (afterSeq), or newest first (newestFirst, then beforeSeq).",
    params.list,
    Schema.Array(Task),
    storeErrors
  ),
  cancel: method("Cancels an unfinished task; a running attempt is interrupted where it runs.", params.cancel, Done, controlErrors),
  pause: method("Pauses a waiting task, a task type or the whole queue.", params.pause, Done, targetErrors),
  resume: method("Resumes what pause paused.", params.resume, Done, targetErrors),
  retry: method("Runs a failed or cancelled task again.", params.retry, Done, controlErrors),
  delete: method("Deletes a finished task and its logs (force: cancels an unfinished one first).", params.delete, Done, controlErrors),
  logs: method("A task's stored log lines, by attempt and line number.", params.logs, Schema.Array(Log), readErrors),
  counts: method("The number of tasks in each status.", params.counts, Counts, storeErrors),
  stats: method("Counts, throughput, run and wait times, workers and health.", params.stats, Stats, storeErrors),
  health: method("healthy, warning, critical or offline, with the reasons.", params.health, Health, storeErrors),
  workers: method("The worker threads: state, heap, current task, tasks done, recycles.", params.workers, Stats.fields.workers, storeErrors),
  graph: method("A task's dependencies upstream and downstream, with each one's status (at most 200 tasks).", params.graph, TaskGraph, readErrors),
  types: method("The task types the server runs: where, defaults, and each payload's JSON Schema.", params.types, Schema.Array(TaskType), [] as const),
  schedule: method(
    "Submits a task again and again, by a cron expression (in a time zone) or every so often; each occurrence once across processes. Replaces a schedule of the same name.",
    params.schedule,
    TaskSchedule,
    [InvalidSchedule, InvalidPayload, UnknownTaskType, StoreError] as const
  ),
  unschedule: method("Removes a schedule (the tasks it submitted stay).", params.unschedule, Schema.Struct({ removed: Schema.Boolean }), storeErrors),
  schedules: method("Every schedule, by name, with its next occurrence.", params.schedules, Schema.Array(TaskSchedule), storeErrors)
} as const

export type Api = typeof api
export type Method = keyof Api
export const methods = Object.keys(api) as ReadonlyArray<Method>

/** A method's params, result and error as values (decoded) and on the wire (encoded). */
export type Params<M extends Method> = Schema.Schema.Type<Api[M]["params"]>
export type Success<M extends Method> = Schema.Schema.Type<Api[M]["success"]>
export type Failure<M extends Method> = Schema.Schema.Type<Api[M]["errors"][number]>

/**
 * The streams, as Server-Sent Events (JSON-RPC has none, and OpenRPC cannot describe them):
 * where each is, what each event's data is, and how it resumes. Frames are named by the
 * item's `_tag`; `end` closes a finite stream, `error` carries a typed error, `dropped` and
 * `gap` say that events were lost to this reader (re-read the state), `shutdown` that the
 * server is stopping (the stream was cut: connect again later).
 */
export const streams = {
  events: { path: "/events", item: TaskEvent, resume: "Last-Event-ID: the id of the last frame seen; a `gap` event when it is no longer kept" },
  watch: { path: "/events?task={id}", item: TaskEvent, resume: "starts with a snapshot of the task (status, progress) and ends after its final status" },
  logs: { path: "/logs?id={id}&follow=true", item: Log, resume: "Last-Event-ID: attempt.line of the last line seen" }
} as const

/** Every typed error the API answers with, by tag (the client decodes `error.data` with it). */
export const Errors = Schema.Union(...submitErrors, TaskNotFound, InvalidTransition, InvalidSchedule)

/**
 * The method's params decoded, or what is wrong with them (one line per problem). The cast
 * names the Schema's type by the method (TypeScript does not follow a generic key through the
 * table's Schemas).
 */
export const decodeParams = <M extends Method>(method: M, raw: unknown): Either.Either<Params<M>, string> =>
  Either.mapLeft(
    Problems.decodeUnknownEither(api[method].params as unknown as Schema.Schema<Params<M>, unknown>)(raw ?? {}),
    (e) => `invalid params for ${method}: ${Problems.message(e, "params")}`
  )

/** Whether `name` is a method of the API. */
export const isMethod = (name: string): name is Method => Object.prototype.hasOwnProperty.call(api, name)
