import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Sse from "../api/Sse.js"

// The client side of the HTTP API, untyped: JSON-RPC calls to POST /rpc and Server-Sent Event
// streams from GET /events and /logs, with the bearer token when one is given. The CLI uses it
// as is; TroupeClient types it with the API's Schemas.

/** The server could not be asked: not reachable, the token was refused, or it answered nonsense. */
export class ClientError extends Data.TaggedError("ClientError")<{
  readonly reason: "Unreachable" | "Unauthorized" | "Protocol"
  readonly message: string
}> {}

/** The server answered with a JSON-RPC error: its code, message, the typed error's tag and the error itself (encoded). */
export class RemoteError extends Data.TaggedError("RemoteError")<{
  readonly code: number
  readonly message: string
  readonly tag: string | undefined
  readonly data?: unknown
}> {}

export interface Options {
  /** Base address, e.g. http://127.0.0.1:7420. */
  readonly url: string
  readonly token?: Redacted.Redacted<string> | undefined
}

/** One Server-Sent Event: its name and parsed JSON data. */
export interface Event {
  readonly event: string
  readonly data: unknown
}

export class Client extends Context.Tag("troupe/client/Http")<Client, {
  /** Calls one method; its result, or the server's typed error. */
  readonly call: (method: string, params?: unknown) => Effect.Effect<unknown, RemoteError | ClientError>
  /** Opens an event stream (path with query, e.g. "/events?task=…"); ends when the server ends it. */
  readonly events: (pathAndQuery: string) => Stream.Stream<Event, RemoteError | ClientError>
}>() {}

const unreachable = (url: string, cause: { readonly message: string }) =>
  new ClientError({ reason: "Unreachable", message: `cannot reach troupe at ${url}: ${cause.message} (is \`troupe start\` running?)` })

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** A JSON-RPC error object in a body, as a RemoteError. */
const remote = (body: unknown): RemoteError | undefined => {
  if (!isObject(body) || !isObject(body["error"])) return undefined
  const e = body["error"]
  const data = isObject(e["data"]) ? e["data"] : {}
  return new RemoteError({
    code: typeof e["code"] === "number" ? e["code"] : -32603,
    message: typeof e["message"] === "string" ? e["message"] : "unknown error",
    tag: typeof data["_tag"] === "string" ? data["_tag"] : undefined,
    data: e["data"]
  })
}

export const make = (options: Options) =>
  Effect.gen(function*() {
    const base = options.url.replace(/\/+$/, "")
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((r) =>
        options.token === undefined ? r : HttpClientRequest.bearerToken(r, Redacted.value(options.token)))
    )
    let nextId = 1

    const checked = (status: number, body: unknown): Effect.Effect<void, RemoteError | ClientError> => {
      if (status === 401) return Effect.fail(new ClientError({ reason: "Unauthorized", message: "the server refused the token (set --token or TROUPE_TOKEN)" }))
      const error = remote(body)
      return error !== undefined ? Effect.fail(error) : Effect.void
    }

    const call = (method: string, params?: unknown) =>
      Effect.gen(function*() {
        const id = nextId++
        const request = HttpClientRequest.post(`${base}/rpc`).pipe(
          HttpClientRequest.bodyUnsafeJson({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) })
        )
        const response = yield* Effect.mapError(http.execute(request), (e) => unreachable(base, e))
        const body = yield* response.json.pipe(
          Effect.mapError(() => new ClientError({ reason: "Protocol", message: `the server at ${base} did not answer JSON (status ${response.status})` }))
        )
        yield* checked(response.status, body)
        if (!isObject(body) || !("result" in body)) {
          return yield* new ClientError({ reason: "Protocol", message: `unexpected answer from ${base}: ${JSON.stringify(body).slice(0, 200)}` })
        }
        return body["result"]
      }).pipe(Effect.scoped)

    const events = (pathAndQuery: string): Stream.Stream<Event, RemoteError | ClientError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const response = yield* Effect.mapError(http.execute(HttpClientRequest.get(`${base}${pathAndQuery}`)), (e) => unreachable(base, e))
        if (response.status !== 200) {
          const body = yield* Effect.orElseSucceed(response.json, () => null)
          yield* checked(response.status, body)
          return yield* new ClientError({ reason: "Protocol", message: `GET ${pathAndQuery}: status ${response.status}` })
        }
        return Sse.decode(response.stream).pipe(
          Stream.mapError((e) => unreachable(base, e)),
          Stream.takeWhile((e) => e.event !== "end"),
          Stream.mapEffect((e): Effect.Effect<Event, RemoteError | ClientError> => {
            const data: unknown = JSON.parse(e.data)
            // The server is stopping: the stream was cut, it did not end.
            if (e.event === "shutdown") {
              return Effect.fail(new ClientError({ reason: "Unreachable", message: `troupe at ${base} is stopping (${pathAndQuery} was cut): connect again once it is back` }))
            }
            if (e.event === "error" && isObject(data)) {
              return Effect.fail(new RemoteError({ code: -32603, message: String(data["message"]), tag: typeof data["_tag"] === "string" ? data["_tag"] : undefined }))
            }
            return Effect.succeed({ event: e.event, data })
          })
        )
      }))

    return Client.of({ call, events })
  })

/** The client over Node's HTTP (keep-alive agent). */
export const layer = (options: Options): Layer.Layer<Client> =>
  Layer.effect(Client, make(options)).pipe(Layer.provide(NodeHttpClient.layer))
