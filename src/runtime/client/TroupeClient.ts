import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Log } from "../../domain/Activity.js"
import * as Problems from "../../domain/Problems.js"
import type { RetryPolicyInput } from "../../domain/RetryPolicy.js"
import type { Task } from "../../domain/Task.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import * as TaskRef from "../../domain/TaskRef.js"
import { EventsOverflow, InvalidPayload, TaskNotFound } from "../../domain/TaskErrors.js"
import type { StoreError, TaskCancelled, TaskFailed } from "../../domain/TaskErrors.js"
import type { TaskEvent } from "../../domain/TaskEvent.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskStatus } from "../../domain/TaskStatus.js"
import * as Outcome from "../../services/queue/Outcome.js"
import type { SubmitOptions, Target } from "../../services/queue/TaskQueue.js"
import * as Api from "../api/Api.js"
import type { Failure, Method, Params, Success } from "../api/Api.js"
import type { SubmitOptionsParam } from "../api/Params.js"
import * as Http from "./Http.js"

// The typed client for another process: the same methods as TaskQueue, over the HTTP API, typed
// by the one API definition (api/Api.ts). Params are encoded and results decoded with the API's
// Schemas; a typed error the server answers with comes back as that error (decoded from the
// JSON-RPC error's data); `submit` and `await` are typed by the task's definition, exactly as
// in-process. What the server could not be asked is a ClientError; an answer outside the API
// (an internal error, invalid params) a RemoteError.

export { ClientError, RemoteError } from "./Http.js"

/** What can go wrong with any call besides the method's own typed errors. */
export type CallError = Http.ClientError | Http.RemoteError

export interface Options {
  /** The server, e.g. http://127.0.0.1:7420. */
  readonly url: string
  readonly token?: Redacted.Redacted<string> | string | undefined
}

export class TroupeClient extends Context.Tag("troupe/TroupeClient")<TroupeClient, {
  /** Validates the payload here, then stores the task there; its id once durable. */
  readonly submit: <P, PI, S, SI, F, FI, N extends string>(
    definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI, N>,
    payload: P,
    options?: SubmitOptions
  ) => Effect.Effect<TaskRef.RefOf<P, PI, S, SI, F, FI, N>, Failure<"submit"> | CallError>
  /** Validates every item here (each against its own definition), then stores them all in one commit there; nothing on error. */
  readonly submitMany: <const Ds extends ReadonlyArray<TaskDefinition.Any>>(
    items: TaskRef.Items<Ds>
  ) => Effect.Effect<TaskRef.Refs<Ds>, Failure<"submitMany"> | CallError>
  /** Waits for the task to end (over its event stream); the typed success or failure, as TaskQueue.await. */
  readonly await: <P, PI, S, SI, F, FI, N extends string>(
    definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI, N>,
    id: TaskRef.RefOf<P, PI, S, SI, F, FI, N>
  ) => Effect.Effect<S, F | TaskFailed | TaskCancelled | TaskNotFound | StoreError | EventsOverflow | CallError>
  readonly get: (id: TaskId) => Effect.Effect<Task, Failure<"get"> | CallError>
  readonly list: (query?: Params<"list">) => Effect.Effect<ReadonlyArray<Task>, Failure<"list"> | CallError>
  readonly cancel: (id: TaskId) => Effect.Effect<void, Failure<"cancel"> | CallError>
  readonly pause: (target: Target) => Effect.Effect<void, Failure<"pause"> | CallError>
  readonly resume: (target: Target) => Effect.Effect<void, Failure<"resume"> | CallError>
  readonly retry: (id: TaskId) => Effect.Effect<void, Failure<"retry"> | CallError>
  readonly delete: (id: TaskId, options?: { readonly force?: boolean }) => Effect.Effect<void, Failure<"delete"> | CallError>
  readonly counts: Effect.Effect<Readonly<Record<TaskStatus, number>>, Failure<"counts"> | CallError>
  readonly stats: Effect.Effect<Success<"stats">, Failure<"stats"> | CallError>
  readonly health: Effect.Effect<Success<"health">, Failure<"health"> | CallError>
  readonly workers: Effect.Effect<Success<"workers">, Failure<"workers"> | CallError>
  /** A task's log lines: stored ones, then with `follow` live ones until it ends. */
  readonly logs: (id: TaskId, options?: { readonly follow?: boolean }) => Stream.Stream<Log, TaskNotFound | StoreError | EventsOverflow | CallError>
  /** One task's status changes, progress and log lines, from a snapshot until it ends. */
  readonly watch: (id: TaskId) => Stream.Stream<TaskEvent, TaskNotFound | EventsOverflow | CallError>
  /** Every event the server publishes from now on (fails with EventsOverflow if it lets this reader go). */
  readonly events: Stream.Stream<TaskEvent, EventsOverflow | CallError>
}>() {}

/** A duration as JSON: milliseconds. */
const millis = (d: Duration.DurationInput): number => Duration.toMillis(Duration.decode(d))

/**
 * A limit (a timeout, a retry's delay) as JSON. JSON has no Infinity (it would arrive as null):
 * no limit goes as the largest safe integer, about 285,000 years. A `delay` is not a limit: an
 * infinite one is sent as it is and refused, as in-process.
 */
const limit = (d: Duration.DurationInput): number => Math.min(millis(d), Number.MAX_SAFE_INTEGER)

const retryOnWire = (r: RetryPolicyInput) => {
  const { initialDelay, maxDelay, ...rest } = r
  return {
    ...rest,
    ...(initialDelay === undefined ? {} : { initialDelay: limit(initialDelay) }),
    ...(maxDelay === undefined ? {} : { maxDelay: limit(maxDelay) })
  }
}

/** Submit options as the API takes them: durations as milliseconds. */
export const optionsOnWire = (o: SubmitOptions): typeof SubmitOptionsParam.Encoded => {
  const { delay, retry, timeout, ...rest } = o
  return {
    ...rest,
    ...(delay === undefined ? {} : { delay: millis(delay) }),
    ...(timeout === undefined ? {} : { timeout: limit(timeout) }),
    ...(retry === undefined ? {} : { retry: retryOnWire(retry) })
  }
}

const targetOnWire = (t: Target) => ("task" in t ? { id: t.task } : t)

const decodeEvent = Schema.decodeUnknownOption(Api.streams.events.item)

const overflow = new EventsOverflow({ capacity: 0 })

export const make = Effect.gen(function*() {
  const http = yield* Http.Client

  /** One call: the method's typed errors decoded from the answer's data, its result with its Schema. */
  const call = <M extends Method>(method: M, params: unknown): Effect.Effect<Success<M>, Failure<M> | CallError> => {
    const spec = Api.api[method]
    const success = spec.success as unknown as Schema.Schema<Success<M>, unknown>
    const failure = Schema.Union(...spec.errors) as unknown as Schema.Schema<Failure<M>, unknown>
    return http.call(method, params).pipe(
      Effect.catchTag("RemoteError", (e): Effect.Effect<never, Failure<M> | Http.RemoteError> =>
        Option.match(Schema.decodeUnknownOption(failure)(e.data), {
          onNone: () => Effect.fail(e),
          onSome: (typed) => Effect.fail(typed)
        })),
      Effect.flatMap((result) =>
        Effect.mapError(Schema.decodeUnknown(success)(result), (e) =>
          new Http.ClientError({ reason: "Protocol", message: `the answer to ${method} does not match the API: ${Problems.message(e)}` })))
    )
  }

  /**
   * An SSE stream of task events. The server letting this reader go (`dropped`, or an `error`
   * event for an overflowing watcher) and a `gap` (events it could not send) are EventsOverflow:
   * subscribe again and re-read the state, as in-process.
   */
  const taskEvents = (path: string): Stream.Stream<TaskEvent, EventsOverflow | CallError> =>
    http.events(path).pipe(
      Stream.mapError((e) => (e._tag === "RemoteError" && e.tag === "EventsOverflow" ? overflow : e)),
      Stream.mapEffect((e) => (e.event === "dropped" || e.event === "gap" ? Effect.fail(overflow) : Effect.succeed(decodeEvent(e.data)))),
      Stream.filterMap((event) => event)
    )

  /** The events of one task: the server's 404 is TaskNotFound. */
  const ofTask = (id: TaskId, path: string): Stream.Stream<TaskEvent, TaskNotFound | EventsOverflow | CallError> =>
    Stream.mapError(taskEvents(path), (e) => (e._tag === "RemoteError" && e.tag === "TaskNotFound" ? new TaskNotFound({ taskId: id }) : e))

  const encodeItem = (definition: TaskDefinition.Any, payload: unknown, options: SubmitOptions | undefined) =>
    Either.match(definition.encodePayload(payload), {
      onLeft: (e) => Effect.fail(new InvalidPayload({ taskType: definition.name, message: Problems.message(e, "payload") })),
      onRight: (encoded) => Effect.succeed({ type: definition.name, payload: encoded, ...(options === undefined ? {} : { options: optionsOnWire(options) }) })
    })

  const at = (path: string, id: TaskId) => path.replace("{id}", encodeURIComponent(id))
  const watch = (id: TaskId) => ofTask(id, at(Api.streams.watch.path, id))

  return TroupeClient.of({
    submit: (definition, payload, options) =>
      Effect.flatMap(encodeItem(definition, payload, options), (item) => Effect.map(call("submit", item), (r) => TaskRef.unsafeOf(r.id))),
    submitMany: <const Ds extends ReadonlyArray<TaskDefinition.Any>>(items: TaskRef.Items<Ds>) =>
      Effect.flatMap(
        Effect.forEach(items as ReadonlyArray<TaskRef.AnyItem>, (i) => encodeItem(i.definition, i.payload, i.options)),
        (tasks) => Effect.map(call("submitMany", { tasks }), (r) => r.ids as TaskRef.Refs<Ds>)
      ),
    // Watching again after an overflow starts from a fresh snapshot: it ends at once if the task has.
    await: (definition, id) =>
      Effect.zipRight(
        Effect.retry(Stream.runDrain(watch(id)), { while: (e) => e._tag === "EventsOverflow" }),
        Effect.flatMap(call("get", { id }), (task) => Outcome.decode(definition, task))
      ),
    get: (id) => call("get", { id }),
    list: (query = {}) => call("list", query),
    cancel: (id) => Effect.asVoid(call("cancel", { id })),
    pause: (target) => Effect.asVoid(call("pause", targetOnWire(target))),
    resume: (target) => Effect.asVoid(call("resume", targetOnWire(target))),
    retry: (id) => Effect.asVoid(call("retry", { id })),
    delete: (id, options) => Effect.asVoid(call("delete", { id, ...options })),
    counts: call("counts", {}),
    stats: call("stats", {}),
    health: call("health", {}),
    workers: call("workers", {}),
    logs: (id, options) =>
      options?.follow === true
        ? Stream.filter(ofTask(id, at(Api.streams.logs.path, id)), (e): e is Log => e._tag === "Log")
        : Stream.unwrap(Effect.map(call("logs", { id }), Stream.fromIterable)),
    watch,
    events: taskEvents(Api.streams.events.path)
  })
})

/** The typed client of the server at `url`, over Node's HTTP (keep-alive). */
export const layer = (options: Options): Layer.Layer<TroupeClient> =>
  Layer.effect(TroupeClient, make).pipe(
    Layer.provide(Http.layer({
      url: options.url,
      token: typeof options.token === "string" ? Redacted.make(options.token) : options.token
    }))
  )
