import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Task } from "../../domain/Task.js"
import type { SubmitOptions, Target } from "../../services/queue/TaskQueue.js"
import { TaskQueue } from "../../services/queue/TaskQueue.js"
import * as JsonRpc from "./JsonRpc.js"
import * as Params from "./Params.js"
import { isMethod, methods, params } from "./Params.js"
import type { Method, SubmitOptionsParam, TargetParam, ById } from "./Params.js"

// The JSON-RPC methods: one per TaskQueue operation, params validated with their Schemas
// (api/Params.ts) before anything reaches the queue (a malformed call never touches the store).

export { methods }

const encodeTask = Schema.encodeSync(Task)

/** A duration param: milliseconds as a number, or Effect's text form ("30 seconds"). */
const duration = (name: string, d: number | string): Either.Either<Duration.Duration, JsonRpc.ErrorObject> =>
  Option.match(Duration.decodeUnknown(d), {
    onNone: () => Either.left({ code: JsonRpc.codes.invalidParams, message: `invalid params: ${name} is not a duration: ${JSON.stringify(d)}` }),
    onSome: Either.right
  })

const toTarget = (t: typeof TargetParam.Type): Target => ("id" in t ? { task: t.id } : "type" in t ? { type: t.type } : { queue: true })

/** Keeps the fields that are present (the params use optional fields; options are exact). */
const present = <A extends object>(o: A): { [K in keyof A]?: Exclude<A[K], undefined> } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof A]?: Exclude<A[K], undefined> }

const toSubmitOptions = (o: typeof SubmitOptionsParam.Type | undefined): Either.Either<SubmitOptions, JsonRpc.ErrorObject> =>
  Either.gen(function*() {
    if (o === undefined) return {}
    const { delay, retry, timeout, ...rest } = o
    const options: SubmitOptions = present(rest)
    const withDurations: SubmitOptions = {
      ...options,
      ...(delay === undefined ? {} : { delay: yield* duration("delay", delay) }),
      ...(timeout === undefined ? {} : { timeout: yield* duration("timeout", timeout) })
    }
    if (retry === undefined) return withDurations
    const { initialDelay, maxDelay, ...retryRest } = retry
    return {
      ...withDurations,
      retry: {
        ...present(retryRest),
        ...(initialDelay === undefined ? {} : { initialDelay: yield* duration("retry.initialDelay", initialDelay) }),
        ...(maxDelay === undefined ? {} : { maxDelay: yield* duration("retry.maxDelay", maxDelay) })
      }
    }
  })

/** Runs one call; typed failures become JSON-RPC errors, never a crash. */
const call = (method: Method, raw: unknown): Effect.Effect<unknown, JsonRpc.ErrorObject, TaskQueue> =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    const decoded = Params.check(method, raw)
    if (Either.isLeft(decoded)) return yield* Effect.fail<JsonRpc.ErrorObject>({ code: JsonRpc.codes.invalidParams, message: decoded.left })
    const p = decoded.right as never
    const run = (): Effect.Effect<unknown, { readonly _tag: string; readonly message: string }> => {
      switch (method) {
        case "submit": {
          const s = p as typeof params.submit.Type
          return Effect.flatMap(
            Either.match(toSubmitOptions(s.options), {
              onLeft: (e) => Effect.fail({ _tag: "InvalidParams", message: e.message }),
              onRight: Effect.succeed
            }),
            (options) => Effect.map(queue.submitEncoded(s.type, s.payload, options), (id) => ({ id }))
          )
        }
        case "get":
          return Effect.map(queue.get((p as typeof ById.Type).id), encodeTask)
        case "list": {
          const l = p as typeof params.list.Type
          return Effect.map(queue.list({
            limit: l.limit ?? 100,
            ...(l.status === undefined ? {} : { status: l.status }),
            ...(l.type === undefined ? {} : { type: l.type }),
            ...(l.afterSeq === undefined ? {} : { afterSeq: l.afterSeq })
          }), (tasks) => tasks.map((t) => encodeTask(t)))
        }
        case "cancel":
          return queue.cancel((p as typeof ById.Type).id)
        case "pause":
          return queue.pause(toTarget(p))
        case "resume":
          return queue.resume(toTarget(p))
        case "retry":
          return queue.retry((p as typeof ById.Type).id)
        case "delete": {
          const d = p as typeof params.delete.Type
          return queue.delete(d.id, d.force === undefined ? {} : { force: d.force })
        }
        case "logs":
          return Effect.map(Stream.runCollect(queue.logs((p as typeof ById.Type).id)), Chunk.toReadonlyArray)
        case "counts":
          return queue.counts
        case "stats":
          return queue.stats
        case "health":
          return queue.health
      }
    }
    return yield* Effect.mapError(run(), (e) =>
      e._tag === "InvalidParams" ? { code: JsonRpc.codes.invalidParams, message: e.message } : JsonRpc.fromError(e))
  })

/** Answers one request (undefined for a notification, which gets no response). */
export const handle = (request: JsonRpc.Request): Effect.Effect<JsonRpc.Response | undefined, never, TaskQueue> => {
  const id = request.id ?? null
  const answer = !isMethod(request.method)
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

/** Answers a whole body: a single response, a batch of them, or nothing (only notifications). */
export const handleBody = (body: string): Effect.Effect<JsonRpc.Response | ReadonlyArray<JsonRpc.Response> | undefined, never, TaskQueue> =>
  Either.match(JsonRpc.parse(body), {
    onLeft: (response) => Effect.succeed(response),
    onRight: (parsed) => {
      const one = (entry: JsonRpc.Entry) => (entry._tag === "Invalid" ? Effect.succeed(entry.response) : handle(entry.request))
      if (parsed._tag === "Single") return one(parsed.entry)
      // Entries run concurrently (JSON-RPC lets a server do so; answers keep their order), so a
      // batch of submits shares the store's group commits instead of waiting for one each.
      return Effect.map(Effect.forEach(parsed.entries, one, { concurrency: 64 }), (rs) => {
        const answered = rs.filter((r): r is JsonRpc.Response => r !== undefined)
        return answered.length === 0 ? undefined : answered
      })
    }
  })
