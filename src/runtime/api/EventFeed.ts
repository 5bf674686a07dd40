import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import { Readable } from "node:stream"
import type { TaskEvent } from "../../services/events/TaskEvents.js"
import { TaskEvents } from "../../services/events/TaskEvents.js"
import * as Sse from "./Sse.js"

// GET /events for every client at once. One fiber reads the queue's events and frames each
// once, as SSE with an `id:`; at most one delivery goes out per `intervalMs` (what arrives
// meanwhile waits for the next), and its bytes are shared by every client. Each client is a
// Node stream piped to its socket, which buffers what the socket has not taken yet: one that is
// `maxBehindBytes` behind gets a final `dropped` event and is let go (it may reconnect with
// Last-Event-ID) instead of slowing the others. The latest frames are kept in a ring, so a
// client that reconnects with Last-Event-ID gets what it missed while the ring covers it, and a
// `gap` event saying so when it does not. Why Node streams and not an Effect Stream per client:
// docs/design.md, "Events that scale".

export interface Options {
  /** Frames kept for resumes. */
  readonly replay: number
  /** Bytes a client may have waiting before it is let go. */
  readonly maxBehindBytes: number
  /** The shortest time between two deliveries (ms). */
  readonly intervalMs: number
  /** A comment to every client this often, so proxies keep quiet streams open. */
  readonly keepAliveMs: number
}

export const defaults: Options = { replay: 10_000, maxBehindBytes: 1024 * 1024, intervalMs: 20, keepAliveMs: 15_000 }

export class EventFeed extends Context.Tag("troupe/api/EventFeed")<EventFeed, {
  /**
   * The SSE body for one client (a Node stream, for HttpServerResponse.raw), resuming after
   * `lastEventId` (the Last-Event-ID header). It leaves the feed when it closes.
   */
  readonly open: (lastEventId: string | undefined) => Effect.Effect<Readable>
  /**
   * Any other SSE body (one task's events, a log follow) as a Node stream written by one fiber:
   * kept alive, ended at shutdown, and let go when `maxBehindBytes` behind, like the feed's own
   * clients. The fiber starts when the stream is first read and stops when it closes.
   */
  readonly serve: (frames: Stream.Stream<Uint8Array>) => Effect.Effect<Readable>
  /** Clients of the feed connected now. */
  readonly clients: Effect.Effect<number>
}>() {}

const opened = Buffer.from(": open\n\n")
const keepAliveBytes = Buffer.from(": keep-alive\n\n")

const control = (event: string, message: string) => Buffer.from(`event: ${event}\ndata: ${JSON.stringify({ _tag: event, message })}\n\n`)

/**
 * The frames of the latest events, by id (`<run>-<n>`: a counter of this feed, and a name for
 * this server's run, so an id from an earlier run is recognised as a gap).
 */
export const ring = (size: number) => {
  const frames = new Array<string>(size)
  const run = crypto.randomBytes(4).toString("hex")
  let next = 0
  return {
    /** Frames `events` with their ids, keeps them, and returns them as one text. */
    push: (events: Iterable<TaskEvent>): string => {
      let text = ""
      for (const e of events) {
        const frame = `id: ${run}-${next}\n${Sse.frame(e)}`
        frames[next % size] = frame
        next++
        text += frame
      }
      return text
    },
    /** What a client that last saw `lastEventId` missed; undefined when the ring lost some of it. */
    since: (lastEventId: string): string | undefined => {
      const m = /^([0-9a-f]+)-(\d+)$/.exec(lastEventId.trim())
      if (m === null || m[1] !== run) return undefined
      const seen = Number(m[2])
      if (seen >= next || seen + 1 < next - size) return undefined
      let text = ""
      for (let n = seen + 1; n < next; n++) text += frames[n % size]
      return text
    },
    /**
     * Forgets everything kept: the next id skips past every slot, so an id given out so far
     * (the latest included) is older than the ring covers and resumes into a gap.
     */
    clear: () => {
      next += size + 1
    }
  }
}

export const make = (options: Options = defaults) =>
  Effect.gen(function*() {
    const events = yield* TaskEvents
    const scope = yield* Effect.scope
    const clients = new Set<Readable>()
    const kept = ring(options.replay)
    const dropped = control("dropped", `this client fell ${options.maxBehindBytes} bytes behind and was let go so it would not slow the others: reconnect with Last-Event-ID to resume`)
    const gap = control("gap", "some events since Last-Event-ID are no longer kept (the server restarted, or the client was away too long): re-read the state (list, counts)")
    const overflowed = control("gap", "the server fell behind its own events and some were not sent: re-read the state (list, counts)")

    const letGo = (client: Readable, last: Buffer) => {
      clients.delete(client)
      client.push(last)
      client.push(null)
    }
    /** Hands `bytes` to every client; one already too far behind is let go instead. */
    const deliver = (bytes: Buffer) => {
      for (const client of clients) {
        if (client.readableLength > options.maxBehindBytes) letGo(client, dropped)
        else client.push(bytes)
      }
    }

    // One reader for every client, at most one delivery per interval. If it ever falls behind
    // its own subscription, every client is told and let go, and it reads on afresh. The first
    // subscription exists before the first client joins (`subscribed`): a client that joined
    // while the reader was still subscribing lost what was published meanwhile (found in CI).
    const subscribed = yield* Deferred.make<void>()
    const readOnce = Effect.scoped(Effect.gen(function*() {
      const batches = yield* events.subscribe
      yield* Deferred.succeed(subscribed, undefined)
      yield* Stream.runForEachChunk(batches, (chunk) =>
        Effect.zipRight(
          Effect.sync(() => deliver(Buffer.from(kept.push(Chunk.toReadonlyArray(chunk).flat())))),
          options.intervalMs > 0 ? Effect.sleep(options.intervalMs) : Effect.void
        ))
    })).pipe(
      Effect.catchTag("EventsOverflow", () =>
        Effect.sync(() => {
          kept.clear()
          for (const client of clients) letGo(client, overflowed)
        }))
    )
    const pump = Effect.forever(readOnce)
    // The other SSE bodies (serve), each written by its own fiber.
    const served = new Map<Readable, Fiber.RuntimeFiber<void>>()
    // Their fibers live in a set that is interrupted, and waited for, when the feed closes.
    const runFork = yield* FiberSet.makeRuntime<never, void, never>()
    const finished = new WeakSet<Readable>()
    /** Ends a served body once, with a last frame if given (its fiber and the feed may both try). */
    const finish = (body: Readable, last?: Buffer) => {
      if (finished.has(body)) return
      finished.add(body)
      served.delete(body)
      if (last !== undefined) body.push(last)
      body.push(null)
    }
    const keepAlive = Effect.forever(Effect.zipRight(
      Effect.sleep(options.keepAliveMs),
      Effect.sync(() => {
        deliver(keepAliveBytes)
        for (const body of served.keys()) body.push(keepAliveBytes)
      })
    ))
    // Started by the first client: until then the server frames nothing (afterwards it keeps
    // framing, so the ring covers a client that comes back).
    let started = false
    const start = Effect.suspend(() => {
      if (started) return Effect.void
      started = true
      return Effect.zipRight(Effect.forkIn(Effect.zip(pump, keepAlive, { concurrent: true }), scope), Deferred.await(subscribed))
    })
    // At shutdown every client gets a last `shutdown` event (not `end`: the stream did not end
    // on its own), and the server waits, a second at most, for the streams that are flowing to
    // their sockets to be written out before connections are cut. One whose socket does not
    // keep up is paused, and not waited for. A stream first read after this point gets only
    // that event.
    const stopped = control("shutdown", "the server is stopping: connect again (with Last-Event-ID) once it is back")
    let stopping = false
    const closed = (client: Readable) =>
      Effect.async<void>((resume) => {
        if (client.closed) return resume(Effect.void)
        const done = () => resume(Effect.void)
        client.once("close", done)
        return Effect.sync(() => client.off("close", done))
      })
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        stopping = true
        const leaving = [...clients, ...served.keys()]
        for (const client of clients) letGo(client, stopped)
        for (const body of served.keys()) finish(body, stopped)
        return Effect.forEach(leaving.filter((client) => client.readableFlowing === true), closed, { concurrency: "unbounded", discard: true })
      }).pipe(
        Effect.timeout("1 second"),
        Effect.ignore,
        // Finalizers run uninterruptibly; the timeout has to interrupt the wait.
        Effect.interruptible
      ))

    return EventFeed.of({
      clients: Effect.sync(() => clients.size),
      // A client joins when its stream is first read (its response is being written: one that
      // is never written holds nothing), in one step with what it missed, so nothing delivered
      // meanwhile is lost or doubled.
      open: (lastEventId) =>
        Effect.zipRight(start, Effect.sync(() => {
          let joined = false
          const client: Readable = new Readable({
            read() {
              if (joined) return
              joined = true
              client.push(opened)
              if (stopping) {
                client.push(stopped)
                client.push(null)
                return
              }
              const missed = lastEventId === undefined ? "" : kept.since(lastEventId)
              if (missed === undefined) client.push(gap)
              else if (missed.length > 0) client.push(Buffer.from(missed))
              clients.add(client)
            }
          })
          client.once("close", () => clients.delete(client))
          return client
        })),
      serve: (frames) =>
        Effect.zipRight(start, Effect.sync(() => {
          const write = Stream.runForEach(frames, (bytes) =>
            Effect.suspend(() => {
              if (finished.has(body)) return Effect.interrupt
              if (body.readableLength <= options.maxBehindBytes) return Effect.sync(() => void body.push(bytes))
              finish(body, dropped)
              return Effect.interrupt
            })).pipe(Effect.ensuring(Effect.sync(() => finish(body))))
          const body: Readable = new Readable({
            read() {
              if (served.has(body) || finished.has(body)) return
              if (stopping) return finish(body, stopped)
              served.set(body, runFork(write))
            }
          })
          body.once("close", () => {
            const fiber = served.get(body)
            served.delete(body)
            fiber?.unsafeInterruptAsFork(fiber.id())
          })
          return body
        }))
    })
  })

export const layer = (options?: Options): Layer.Layer<EventFeed, never, TaskEvents> => Layer.scoped(EventFeed, make(options))
