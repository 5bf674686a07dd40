import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as crypto from "node:crypto"
import { createServer } from "node:http"
import { TaskQueue } from "../../services/TaskQueue.js"
import { TroupeStartError } from "../compose.js"
import * as JsonRpc from "./JsonRpc.js"
import * as Methods from "./Methods.js"

export interface Options {
  readonly host: string
  readonly port: number
  /** Bearer token; required when binding anywhere but loopback. */
  readonly token?: string | undefined
  /** Largest request body accepted (bytes). */
  readonly maxBodyBytes?: number
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"])

const digest = (s: string) => crypto.createHash("sha256").update(s).digest()

/** Compares the presented bearer token in constant time (digests of equal length). */
export const authorized = (header: string | undefined, token: string | undefined): boolean => {
  if (token === undefined) return true
  const presented = header?.startsWith("Bearer ") === true ? header.slice(7) : ""
  return crypto.timingSafeEqual(digest(presented), digest(token))
}

const reply = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

/** POST /rpc: JSON-RPC 2.0 over TaskQueue (single or batch). */
export const router = (options: Options) =>
  HttpRouter.empty.pipe(
    HttpRouter.post(
      "/rpc",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (!authorized(request.headers["authorization"], options.token)) {
          return reply(JsonRpc.failure(null, { code: -32000, message: "unauthorized: a valid bearer token is required" }), 401)
        }
        const max = options.maxBodyBytes ?? 1024 * 1024
        const declared = Number(request.headers["content-length"] ?? "0")
        if (declared > max) {
          return reply(JsonRpc.failure(null, { code: JsonRpc.codes.invalidRequest, message: `request body of ${declared} bytes is over the limit of ${max}` }), 413)
        }
        const body = yield* request.text.pipe(HttpIncomingMessage.withMaxBodySize(Option.some(max)), Effect.either)
        if (body._tag === "Left") {
          return reply(JsonRpc.failure(null, { code: JsonRpc.codes.invalidRequest, message: `request body rejected: ${body.left.message}` }), 413)
        }
        const answer = yield* Methods.handleBody(body.right)
        return answer === undefined ? HttpServerResponse.empty({ status: 204 }) : reply(answer)
      })
    )
  )

/**
 * The JSON-RPC server on `host:port`. Binding anywhere but loopback without a token is refused
 * at start-up.
 */
export const layer = (options: Options): Layer.Layer<HttpServer.HttpServer, TroupeStartError, TaskQueue> => {
  if (!LOOPBACK.has(options.host) && options.token === undefined) {
    return Layer.fail(new TroupeStartError({
      message: `refusing to serve on ${options.host} without a token: bind 127.0.0.1, or set a bearer token`
    }))
  }
  return HttpServer.serve(router(options)).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { host: options.host, port: options.port })),
    Layer.mapError((e) => new TroupeStartError({ message: `cannot serve on ${options.host}:${options.port}: ${e.message}` }))
  )
}
