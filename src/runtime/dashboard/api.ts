import type * as Schema from "effect/Schema"
import type { Api, Method } from "../api/Api.js"

// The dashboard's client of the server's API: JSON-RPC calls and the event streams, typed by
// the API's own definition (api/Api.ts; type-only imports, so none of the runtime is bundled).
// The bearer token, when the server asks for one, is kept for the tab (sessionStorage).

/** A method's params and result as they travel (JSON). */
export type ParamsOf<M extends Method> = Schema.Schema.Encoded<Api[M]["params"]>
export type ResultOf<M extends Method> = Schema.Schema.Encoded<Api[M]["success"]>
export type TaskWire = ResultOf<"get">

/** A JSON-RPC error as the server answers it: code, message, and the typed error in `data`. */
export class RpcError extends Error {
  constructor(readonly code: number, message: string, readonly data: { readonly _tag?: string } | undefined) {
    super(message)
  }
}

/** The server wants a token this tab does not have (or has wrong). */
export class Unauthorized extends Error {}

const TOKEN = "troupe-token"

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN),
  set: (value: string) => sessionStorage.setItem(TOKEN, value),
  clear: () => sessionStorage.removeItem(TOKEN)
}

const headers = (): Record<string, string> => {
  const t = token.get()
  return t === null ? {} : { authorization: `Bearer ${t}` }
}

let nextId = 1

/** Calls a method; fails with RpcError (typed error in `data`) or Unauthorized. */
export const call = async <M extends Method>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> => {
  const res = await fetch("/rpc", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers() },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params })
  })
  if (res.status === 401) throw new Unauthorized("a valid token is required")
  const answer = await res.json() as { readonly result?: ResultOf<M>; readonly error?: { readonly code: number; readonly message: string; readonly data?: { readonly _tag?: string } } }
  if (answer.error !== undefined) throw new RpcError(answer.error.code, answer.error.message, answer.error.data)
  return answer.result as ResultOf<M>
}

export interface Frame {
  readonly event: string
  readonly id: string | undefined
  readonly data: unknown
}

/**
 * Reads a Server-Sent Events stream (fetch, so the token travels in a header; EventSource
 * cannot send one) and hands each frame to `onFrame` until `signal` aborts or the stream ends;
 * resolves then. Comments (keep-alives) are skipped.
 */
export const stream = async (path: string, onFrame: (frame: Frame) => void, signal: AbortSignal, lastEventId?: string): Promise<void> => {
  const res = await fetch(path, { headers: { ...headers(), ...(lastEventId === undefined ? {} : { "last-event-id": lastEventId }) }, signal })
  if (res.status === 401) throw new Unauthorized("a valid token is required")
  if (res.body === null) return
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    buffered += value
    const blocks = buffered.split("\n\n")
    buffered = blocks.pop() ?? ""
    for (const block of blocks) {
      if (block.startsWith(":")) continue
      const fields = new Map<string, string>()
      for (const line of block.split("\n")) {
        const at = line.indexOf(": ")
        if (at > 0) fields.set(line.slice(0, at), line.slice(at + 2))
      }
      const event = fields.get("event")
      if (event === undefined) continue
      onFrame({ event, id: fields.get("id"), data: JSON.parse(fields.get("data") ?? "null") as unknown })
    }
  }
}
