import * as Chunk from "effect/Chunk"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

// Server-Sent Events framing (text/event-stream): one event per item, named by its `_tag`, the
// item as JSON on one data line. Pure framing; the server picks the streams and api/EventFeed
// writes them (with keep-alives).

const encoder = new TextEncoder()

/** One event: `event: <tag>` and the JSON on a `data:` line (JSON has no raw newlines). */
export const frame = (item: { readonly _tag: string }): string => `event: ${item._tag}\ndata: ${JSON.stringify(item)}\n\n`

/** A trailing event that says the stream ended on purpose (the task reached a final status). */
export const endFrame = "event: end\ndata: {}\n\n"

/**
 * Frames a stream of tagged items as SSE bytes: a finite stream ends with an `end` event, a
 * failure becomes an `error` event then the end. (Keep-alives come from api/EventFeed, which
 * writes every SSE response.)
 */
export const encode = <A extends { readonly _tag: string }, E extends { readonly _tag: string; readonly message: string }>(
  items: Stream.Stream<A, E>,
  options: { readonly idOf?: (item: A) => string } = {}
): Stream.Stream<Uint8Array> => {
  const { idOf } = options
  return items.pipe(
    Stream.map(idOf === undefined ? frame : (item) => `id: ${idOf(item)}\n${frame(item)}`),
    Stream.catchAll((e) => Stream.succeed(`event: error\ndata: ${JSON.stringify({ _tag: e._tag, message: e.message })}\n\n`)),
    Stream.concat(Stream.succeed(endFrame)),
    Stream.prepend(Chunk.of(": open\n\n")),
    Stream.map((s) => encoder.encode(s))
  )
}

/** A log line's SSE id: its attempt and line number, which say where a reconnect resumes. */
export const logId = (line: { readonly attempt: number; readonly n: number }): string => `${line.attempt}.${line.n}`

/** The position a log stream's Last-Event-ID names, if it names one. */
export const logPosition = (lastEventId: string | undefined): { readonly attempt: number; readonly n: number } | undefined => {
  const m = lastEventId === undefined ? null : /^(\d+)\.(\d+)$/.exec(lastEventId.trim())
  return m === null ? undefined : { attempt: Number(m[1]), n: Number(m[2]) }
}

/** Splits an SSE byte stream back into `{ event, data }` records (the CLI's reader). */
export const decode = <E>(bytes: Stream.Stream<Uint8Array, E>): Stream.Stream<{ readonly event: string; readonly data: string }, E> =>
  bytes.pipe(
    Stream.decodeText(),
    Stream.mapAccum("", (buffer, chunk) => {
      const parts = (buffer + chunk).split("\n\n")
      const rest = parts.pop() ?? ""
      return [rest, parts]
    }),
    Stream.flattenIterables,
    Stream.filterMap((block) => {
      let event = "message"
      const data: Array<string> = []
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7)
        else if (line.startsWith("data: ")) data.push(line.slice(6))
      }
      return data.length === 0 ? Option.none() : Option.some({ event, data: data.join("\n") })
    })
  )
