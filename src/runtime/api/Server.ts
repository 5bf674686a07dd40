import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import { createServer } from "node:http"
import type { Log } from "../../domain/Activity.js"
import { TaskId } from "../../domain/TaskId.js"
import type { TaskEvents } from "../../services/events/TaskEvents.js"
import { TaskQueue } from "../../services/queue/TaskQueue.js"
import { Telemetry } from "../../services/telemetry/Telemetry.js"
import { TroupeStartError } from "../compose.js"
import { version } from "../version.js"
import { EventFeed } from "./EventFeed.js"
import * as EventFeed_ from "./EventFeed.js"
import { Gather } from "./Gather.js"
import * as Gather_ from "./Gather.js"
import * as Dashboard from "./Dashboard.js"
import * as JsonRpc from "./JsonRpc.js"
import * as Landing from "./Landing.js"
import * as OpenRpc from "./OpenRpc.js"
import * as Methods from "./Methods.js"
import * as Sse from "./Sse.js"
import * as Token from "./Token.js"

export interface Options {
  readonly host: string
  readonly port: number
  /** Bearer token; required when binding anywhere but loopback. An empty or blank one is none. */
  readonly token?: Redacted.Redacted<string> | undefined
  /** Largest request body accepted (bytes). */
  readonly maxBodyBytes?: number
}

const digest = (s: string) => crypto.createHash("sha256").update(s).digest()

/**
 * Compares the presented bearer token in constant time (digests of equal length); the only
 * place the token leaves its Redacted. No token: every request passes (loopback only).
 */
export const authorized = (header: string | undefined, token: Redacted.Redacted<string> | undefined): boolean => {
  if (token === undefined) return true
  const presented = header?.startsWith("Bearer ") === true ? header.slice(7) : ""
  return crypto.timingSafeEqual(digest(presented), digest(Redacted.value(token)))
}

const reply = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const unauthorized = reply(JsonRpc.failure(null, { code: -32000, message: "unauthorized: a valid bearer token is required" }), 401)

/** Runs the handler only for a request that carries the token (when one is configured). */
const guarded = <E, R>(
  token: Redacted.Redacted<string> | undefined,
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    authorized(request.headers["authorization"], token) ? handler : Effect.succeed(unauthorized))

const sseOptions = {
  contentType: "text/event-stream",
  headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
} as const


const StreamQuery = Schema.Struct({
  task: Schema.optional(TaskId),
  id: Schema.optional(TaskId),
  follow: Schema.optional(Schema.Literal("true", "false", "1", "0"))
})

const query = Effect.mapError(HttpServerRequest.schemaSearchParams(StreamQuery), (e) =>
  reply(JsonRpc.failure(null, { code: JsonRpc.codes.invalidParams, message: `invalid query: ${e.message}` }), 400))

/** A stream over one task answers 404 at once when the task does not exist. */
const forTask = <A extends { readonly _tag: string }>(
  id: TaskId,
  body: (queue: TaskQueue["Type"]) => Stream.Stream<A, { readonly _tag: string; readonly message: string }>,
  idOf?: (item: A) => string
) =>
  Effect.flatMap(Effect.zip(TaskQueue, EventFeed), ([queue, feed]) =>
    queue.get(id).pipe(
      Effect.zipRight(feed.serve(Sse.encode(body(queue), { ...(idOf === undefined ? {} : { idOf }) }))),
      Effect.map((stream) => HttpServerResponse.raw(stream, sseOptions)),
      Effect.catchAll((e) => Effect.succeed(reply(JsonRpc.failure(null, JsonRpc.fromError(e)), e._tag === "TaskNotFound" ? 404 : 500)))
    ))

/**
 * GET /: the dashboard (its code at /dashboard/app.js); GET /api: a short page saying what this
 * server serves (public: neither names a task).
 * POST /rpc: JSON-RPC 2.0 over TaskQueue (single or batch). GET /events: every event as
 * Server-Sent Events, from one shared feed (api/EventFeed), resumable with Last-Event-ID
 * (`?task=ID`: one task's snapshot, progress, lines and changes until it ends). GET
 * /logs?id=ID[&follow=true]: a task's log lines, resumable with Last-Event-ID. GET /health: the health, 503 when
 * critical or offline (for load balancers and probes).
 */
export const router = (options: Options) => {
  const token = Token.ofOption(options.token).token
  return HttpRouter.empty.pipe(
    HttpRouter.post(
      "/rpc",
      guarded(token, Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const max = options.maxBodyBytes ?? 1024 * 1024
        const declared = Number(request.headers["content-length"] ?? "0")
        if (declared > max) {
          return reply(JsonRpc.failure(null, { code: JsonRpc.codes.invalidRequest, message: `request body of ${declared} bytes is over the limit of ${max}` }), 413)
        }
        const body = yield* request.text.pipe(HttpIncomingMessage.withMaxBodySize(Option.some(max)), Effect.either)
        if (body._tag === "Left") {
          return reply(JsonRpc.failure(null, { code: JsonRpc.codes.invalidRequest, message: `request body rejected: ${body.left.message}` }), 413)
        }
        const gather = yield* Gather
        const answer = yield* Methods.handleBody(body.right, gather.handle)
        return answer === undefined ? HttpServerResponse.empty({ status: 204 }) : reply(answer)
      }))
    ),
    HttpRouter.get(
      "/events",
      guarded(token, Effect.gen(function*() {
        const q = yield* query
        if (q.task !== undefined) return yield* forTask(q.task, (queue) => queue.watch(q.task!))
        const feed = yield* EventFeed
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* feed.open(request.headers["last-event-id"])
        return HttpServerResponse.raw(body, sseOptions)
      }).pipe(Effect.merge))
    ),
    HttpRouter.get(
      "/logs",
      guarded(token, Effect.gen(function*() {
        const q = yield* query
        if (q.id === undefined) {
          return reply(JsonRpc.failure(null, { code: JsonRpc.codes.invalidParams, message: "invalid query: id is required" }), 400)
        }
        const follow = q.follow === "true" || q.follow === "1"
        // A client that reconnects (Last-Event-ID: attempt.line) gets the lines after it.
        const request = yield* HttpServerRequest.HttpServerRequest
        const after = Sse.logPosition(request.headers["last-event-id"])
        return yield* forTask<Log>(q.id, (queue) => queue.logs(q.id!, { follow, ...(after === undefined ? {} : { after }) }), Sse.logId)
      }).pipe(Effect.merge))
    ),
    // The dashboard (public like the API's description: the page holds no data) and what the API serves.
    HttpRouter.get("/", Effect.succeed(HttpServerResponse.html(Dashboard.page))),
    HttpRouter.get("/dashboard/app.js", Dashboard.script),
    HttpRouter.get("/api", Effect.succeed(HttpServerResponse.html(Landing.page(token !== undefined)))),
    // Public like the page: it describes the API, not any task.
    HttpRouter.get("/openrpc.json", Effect.succeed(reply(OpenRpc.document(version)))),
    HttpRouter.get(
      "/health",
      guarded(token, Effect.map(Effect.flatMap(TaskQueue, (queue) => queue.health), (health) =>
        reply(health, health.level === "critical" || health.level === "offline" ? 503 : 200)))
    )
  )
}

/** Why the server could not listen, in words an operator can act on. */
const serveFailure = (host: string, port: number, error: { readonly message: string; readonly cause?: unknown }): string => {
  const cause = error.cause as { readonly code?: unknown; readonly message?: unknown } | undefined
  const code = typeof cause?.code === "string" ? cause.code : undefined
  if (code === "EADDRINUSE") return `port ${port} on ${host} is already in use (another troupe?): stop that process, or pick another port with --port`
  if (code === "EACCES") return `no permission to listen on ${host}:${port}: pick a port above 1023 with --port`
  if (code === "EADDRNOTAVAIL") return `${host} is not an address of this machine: bind 127.0.0.1 or one of its own addresses with --host`
  const detail = [error.message, typeof cause?.message === "string" ? cause.message : undefined].filter((m) => m !== undefined && m.length > 0)
  return `cannot serve on ${host}:${port}: ${detail.join(": ") || "the HTTP server failed to start"}`
}

/**
 * The JSON-RPC server on `host:port`. Binding anywhere but loopback without a token is refused
 * at start-up.
 */
export const layer = (options: Options): Layer.Layer<HttpServer.HttpServer | EventFeed, TroupeStartError, TaskQueue | TaskEvents> => {
  const refused = Token.refusal(options.host, Token.ofOption(options.token))
  if (refused !== undefined) return Layer.fail(new TroupeStartError({ message: refused }))
  return Layer.unwrapEffect(Effect.map(Telemetry, (telemetry) => {
    const server = createServer()
    // Open event streams would hold server.close() forever: cut every connection first (the
    // finalizer of a layer built after the server runs before the server's own close).
    const cutConnections = Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(() => server.closeAllConnections())))
    return HttpServer.serve(router(options)).pipe(
      Layer.provideMerge(EventFeed_.layer()),
      Layer.provide(Gather_.layer),
      // A span per request only when tracing is on (then it parents troupe.submit).
      HttpMiddleware.withTracerDisabledWhen(() => !telemetry.tracing),
      Layer.provideMerge(Layer.provideMerge(cutConnections, NodeHttpServer.layer(() => server, { host: options.host, port: options.port }))),
      Layer.mapError((e) => new TroupeStartError({ message: serveFailure(options.host, options.port, e) }))
    )
  }))
}
