import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Problems from "../../domain/Problems.js"

// JSON-RPC 2.0 framing for the HTTP API: parsing a body into requests (single or
// batch), the standard error codes, troupe's application codes, and responses. Pure: the
// server and the CLI client both build on it.

/** The standard codes (JSON-RPC 2.0, section 5.1). */
export const codes = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603
} as const

/** troupe's application codes, by the tag of the typed error behind them. */
export const applicationCodes: Readonly<Record<string, number>> = {
  TaskNotFound: -32001,
  QueueFull: -32002,
  InvalidTransition: -32003,
  InvalidPayload: -32004,
  UnknownTaskType: -32005,
  InvalidDependency: -32006,
  ResourceUnsatisfiable: -32007,
  TaskFailed: -32008,
  TaskCancelled: -32009,
  StoreError: -32010,
  InvalidSchedule: -32011
}

export const Id = Schema.Union(Schema.String, Schema.Number, Schema.Null)
export type Id = typeof Id.Type

/** A well-formed request; without an id it is a notification (no response). */
export const Request = Schema.Struct({
  jsonrpc: Schema.Literal("2.0"),
  method: Schema.String,
  params: Schema.optional(Schema.Union(Schema.Array(Schema.Unknown), Schema.Record({ key: Schema.String, value: Schema.Unknown }))),
  id: Schema.optional(Id)
})
export type Request = typeof Request.Type

export interface ErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

export type Response =
  | { readonly jsonrpc: "2.0"; readonly id: Id; readonly result: unknown }
  | { readonly jsonrpc: "2.0"; readonly id: Id; readonly error: ErrorObject }

export const success = (id: Id, result: unknown): Response => ({ jsonrpc: "2.0", id, result: result ?? null })
export const failure = (id: Id, error: ErrorObject): Response => ({ jsonrpc: "2.0", id, error })

/** One entry of a parsed body: a request to run, or an invalid one already answered. */
export type Entry =
  | { readonly _tag: "Call"; readonly request: Request }
  | { readonly _tag: "Invalid"; readonly response: Response }

/** What a body parses to: a single entry, a batch, or a response for the whole body. */
export type Parsed =
  | { readonly _tag: "Single"; readonly entry: Entry }
  | { readonly _tag: "Batch"; readonly entries: ReadonlyArray<Entry> }

const decodeRequest = Problems.decodeUnknownEither(Request)

const idOf = (u: unknown): Id => {
  if (typeof u !== "object" || u === null || !("id" in u)) return null
  const id = (u as { id: unknown }).id
  return typeof id === "string" || typeof id === "number" ? id : null
}

/**
 * How deeply a request's params may nest arrays and objects. Deeper input overflowed the
 * stack of whatever walked it recursively later (JSON encoding, Schema): it is refused here as
 * invalid params, naming the limit.
 */
export const maxParamsDepth = 64

/** Whether `value` nests arrays or objects more than `limit` levels deep; walks without recursion. */
export const deeperThan = (value: unknown, limit: number): boolean => {
  const stack: Array<readonly [unknown, number]> = [[value, 0]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, depth] = next
    if (typeof v !== "object" || v === null) continue
    if (depth === limit) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}

const tooDeep = (id: Id, code: number, what: string): Entry => ({
  _tag: "Invalid",
  response: failure(id, { code, message: `${what}: nested more than ${maxParamsDepth} levels deep (the limit)` })
})

const entry = (u: unknown): Entry => {
  // Checked before anything walks the entry recursively (decoding, messages): deep params are
  // invalid params, anything else this deep an invalid request.
  if (deeperThan(u, maxParamsDepth + 1)) {
    const params = typeof u === "object" && u !== null && !Array.isArray(u) ? (u as { params?: unknown }).params : undefined
    return params !== undefined && deeperThan(params, maxParamsDepth)
      ? tooDeep(idOf(u), codes.invalidParams, "invalid params")
      : tooDeep(idOf(u), codes.invalidRequest, "invalid request")
  }
  return Either.match(decodeRequest(u), {
    // Not deeper than the limit + 1 as a whole: its params are within the limit.
    onRight: (request): Entry => ({ _tag: "Call", request }),
    onLeft: (e): Entry => ({
      _tag: "Invalid",
      response: failure(idOf(u), { code: codes.invalidRequest, message: `invalid request: ${Problems.message(e)}` })
    })
  })
}

/**
 * Parses a request body. Malformed JSON and an empty batch are answered as a whole (-32700,
 * -32600); each entry of a batch is checked on its own, so one bad entry does not sink the rest.
 */
export const parse = (body: string): Either.Either<Parsed, Response> => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch (e) {
    return Either.left(failure(null, { code: codes.parseError, message: `parse error: ${e instanceof Error ? e.message : String(e)}` }))
  }
  if (Array.isArray(json)) {
    if (json.length === 0) return Either.left(failure(null, { code: codes.invalidRequest, message: "invalid request: empty batch" }))
    return Either.right({ _tag: "Batch", entries: json.map(entry) })
  }
  return Either.right({ _tag: "Single", entry: entry(json) })
}

/** A typed error as a JSON-RPC error object: its application code, message and tag. */
export const fromError = (error: { readonly _tag: string; readonly message: string }): ErrorObject => {
  const code = applicationCodes[error._tag]
  return code === undefined
    ? { code: codes.internalError, message: error.message, data: { _tag: error._tag } }
    : { code, message: error.message, data: { _tag: error._tag } }
}
