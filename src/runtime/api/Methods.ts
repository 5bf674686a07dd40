import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Target } from "../../services/queue/TaskQueue.js"
import { TaskQueue } from "../../services/queue/TaskQueue.js"
import * as Api from "./Api.js"
import type { Failure, Method, Params, Success } from "./Api.js"
import * as JsonRpc from "./JsonRpc.js"
import type { TargetParam } from "./Params.js"

// The JSON-RPC methods: one handler per method of the API (api/Api.ts), given its decoded
// params; the result is encoded and errors are answered with the API's own Schemas. Params are
// validated before anything reaches the queue (a malformed call never touches the store).

export const methods = Api.methods

const toTarget = (t: typeof TargetParam.Type): Target => ("id" in t ? { task: t.id } : "type" in t ? { type: t.type } : { queue: true })

type Handlers = {
  readonly [M in Method]: (params: Params<M>, queue: TaskQueue["Type"]) => Effect.Effect<Success<M>, Failure<M>>
}

const handlers: Handlers = {
  submit: (p, queue) => Effect.map(queue.submitManyEncoded([p]), (ids) => ({ id: ids[0]! })),
  submitMany: (p, queue) => Effect.map(queue.submitManyEncoded(p.tasks), (ids) => ({ ids })),
  get: (p, queue) => queue.get(p.id),
  list: (p, queue) =>
    queue.list({
      limit: p.limit ?? 100,
      ...(p.status === undefined ? {} : { status: p.status }),
      ...(p.type === undefined ? {} : { type: p.type }),
      ...(p.key === undefined ? {} : { key: p.key }),
      ...(p.idPrefix === undefined ? {} : { idPrefix: p.idPrefix }),
      ...(p.afterSeq === undefined ? {} : { afterSeq: p.afterSeq }),
      ...(p.newestFirst === undefined ? {} : { newestFirst: p.newestFirst }),
      ...(p.beforeSeq === undefined ? {} : { beforeSeq: p.beforeSeq })
    }),
  cancel: (p, queue) => Effect.as(queue.cancel(p.id), null),
  pause: (p, queue) => Effect.as(queue.pause(toTarget(p)), null),
  resume: (p, queue) => Effect.as(queue.resume(toTarget(p)), null),
  retry: (p, queue) => Effect.as(queue.retry(p.id), null),
  delete: (p, queue) => Effect.as(queue.delete(p.id, p.force === undefined ? {} : { force: p.force }), null),
  // Stored lines only (a `follow` is GET /logs): the stream ends after them.
  logs: (p, queue) =>
    Effect.map(Stream.runCollect(queue.logs(p.id)), Chunk.toReadonlyArray).pipe(
      Effect.catchTag("EventsOverflow", (e) => Effect.die(e))
    ),
  counts: (_, queue) => queue.counts,
  stats: (_, queue) => queue.stats,
  health: (_, queue) => queue.health,
  workers: (_, queue) => Effect.map(queue.stats, (s) => s.workers),
  graph: (p, queue) => queue.graph(p.id),
  types: (_, queue) => Effect.succeed(queue.types),
  schedule: (p, queue) => queue.scheduleEncoded(p.name, p.type, p.payload, p.options),
  unschedule: (p, queue) => Effect.map(queue.unschedule(p.name), (removed) => ({ removed })),
  schedules: (_, queue) => queue.schedules
}

const encodeError = Schema.encodeUnknownEither(Api.Errors)

/** A typed error as a JSON-RPC error: its application code, its message, and itself encoded in `data`. */
const answerError = (e: { readonly _tag: string; readonly message: string }): JsonRpc.ErrorObject => ({
  ...JsonRpc.fromError(e),
  data: Either.getOrElse(encodeError(e), () => ({ _tag: e._tag }))
})

/** Runs one call; typed failures become JSON-RPC errors, never a crash. */
const call = <M extends Method>(method: M, raw: unknown): Effect.Effect<unknown, JsonRpc.ErrorObject, TaskQueue> =>
  Either.match(Api.decodeParams(method, raw), {
    onLeft: (message) => Effect.fail<JsonRpc.ErrorObject>({ code: JsonRpc.codes.invalidParams, message }),
    onRight: (params) =>
      Effect.flatMap(TaskQueue, (queue) =>
        handlers[method](params, queue).pipe(
          Effect.mapError(answerError),
          Effect.flatMap((result) => Effect.orDie(Schema.encodeUnknown(Api.api[method].success as Schema.Schema.AnyNoContext)(result)))
        ))
  })

/** Answers one request (undefined for a notification, which gets no response). */
export const handle = (request: JsonRpc.Request): Effect.Effect<JsonRpc.Response | undefined, never, TaskQueue> => {
  const id = request.id ?? null
  const answer = !Api.isMethod(request.method)
    ? Effect.succeed(JsonRpc.failure(id, {
      code: JsonRpc.codes.methodNotFound,
      message: `method not found: ${request.method} (known: ${methods.join(", ")})`
    }))
    : call(request.method, Array.isArray(request.params) ? request.params[0] : request.params).pipe(
      Effect.match({ onFailure: (e) => JsonRpc.failure(id, e), onSuccess: (r) => JsonRpc.success(id, r) }),
      Effect.catchAllDefect((d) => Effect.succeed(JsonRpc.failure(id, { code: JsonRpc.codes.internalError, message: String(d) })))
    )
  return request.id === undefined ? Effect.as(answer, undefined) : answer
}

/**
 * Answers a whole body: a single response, a batch of them, or nothing (only notifications).
 * `single` answers a body of one call (the server gathers those: api/Gather.ts).
 */
export const handleBody = <R = never>(
  body: string,
  single: (request: JsonRpc.Request) => Effect.Effect<JsonRpc.Response | undefined, never, R | TaskQueue> = handle
): Effect.Effect<JsonRpc.Response | ReadonlyArray<JsonRpc.Response> | undefined, never, R | TaskQueue> =>
  Either.match(JsonRpc.parse(body), {
    onLeft: (response) => Effect.succeed(response),
    onRight: (parsed) => {
      const one = (entry: JsonRpc.Entry) => (entry._tag === "Invalid" ? Effect.succeed(entry.response) : handle(entry.request))
      if (parsed._tag === "Single") return parsed.entry._tag === "Invalid" ? Effect.succeed(parsed.entry.response) : single(parsed.entry.request)
      // Entries run concurrently (JSON-RPC lets a server do so; answers keep their order), so a
      // batch of submits shares the store's group commits instead of waiting for one each.
      return Effect.map(Effect.forEach(parsed.entries, one, { concurrency: 64 }), (rs) => {
        const answered = rs.filter((r): r is JsonRpc.Response => r !== undefined)
        return answered.length === 0 ? undefined : answered
      })
    }
  })
