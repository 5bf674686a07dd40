import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Schema from "effect/Schema"
import type { Readable } from "node:stream"
import * as TaskDefinition from "../../src/domain/TaskDefinition.js"
import * as TaskId from "../../src/domain/TaskId.js"
import * as EventFeed from "../../src/runtime/api/EventFeed.js"
import * as TroupeTest from "../../src/runtime/TroupeTest.js"
import { TaskEvents } from "../../src/services/events/TaskEvents.js"
import { TaskQueue } from "../../src/services/queue/TaskQueue.js"
import * as Handlers from "../../src/workers/Handlers.js"

// The shared SSE feed behind GET /events, read straight from its clients' streams (the HTTP
// side is in RpcServer.test.ts). No interval between deliveries, so nothing here waits on time.

const Echo = TaskDefinition.make("echo", { payload: Schema.Struct({ n: Schema.Int }), success: Schema.Int, execution: "fiber" })
const runtime = TroupeTest.layer(Handlers.make(Echo.handler(({ n }) => Effect.succeed(n))))

const feedLayer = (options: Partial<EventFeed.Options>) =>
  EventFeed.layer({ ...EventFeed.defaults, intervalMs: 0, keepAliveMs: 3_600_000, ...options }).pipe(Layer.provideMerge(runtime))

interface Frame {
  readonly id: string | undefined
  readonly event: string
  readonly data: Record<string, unknown>
}

/** What a client has been sent so far, as frames (comments left out), and whether it ended. */
const received = (client: Readable): { frames: Array<Frame>; ended: boolean } => {
  const chunks: Array<Buffer> = []
  for (let c = client.read() as Buffer | null; c !== null; c = client.read() as Buffer | null) chunks.push(c)
  const frames = Buffer.concat(chunks).toString("utf8").split("\n\n").filter((b) => b.length > 0 && !b.startsWith(":")).map((block) => {
    const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(": ")), line.slice(line.indexOf(": ") + 2)]))
    return { id: fields["id"], event: fields["event"]!, data: JSON.parse(fields["data"]!) as Record<string, unknown> }
  })
  return { frames, ended: client.readableEnded || client.destroyed || (client as unknown as { _readableState: { ended: boolean } })._readableState.ended }
}

/** Opens a client and starts reading it, which is when it joins the feed (as when its response starts). */
const connect = (lastEventId: string | undefined) =>
  Effect.flatMap(EventFeed.EventFeed, (feed) =>
    Effect.map(feed.open(lastEventId), (client) => {
      client.read(0) // asks for data without taking any
      return client
    }))

/** Submits `n` tasks and waits until they completed and the feed has run. */
const drain = (n: number, from = 0) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    for (let i = from; i < from + n; i++) yield* queue.await(Echo, yield* queue.submit(Echo, { n: i }))
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
  })

const completions = (frames: ReadonlyArray<Frame>) => frames.filter((f) => f.data["status"] === "completed").map((f) => f.data["id"])

describe("EventFeed (GET /events)", () => {
  it.effect("the first client hears what is published the moment it has joined (the feed subscribed before it joined)", () =>
    Effect.gen(function*() {
      const client = yield* connect(undefined)
      // Published at once, with no yield in between: before, the feed's reader could still be
      // subscribing in its own fiber, and this was lost (a CI run timed out on it).
      yield* Effect.flatMap(TaskEvents, (events) =>
        events.publish([{ _tag: "StatusChanged", id: TaskId.unsafeMake("t-now"), type: "echo", status: "pending", at: 1 }]))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(received(client).frames.map((f) => f.data["id"])).toStrictEqual(["t-now"])
    }).pipe(Effect.provide(feedLayer({}))))

  it.scoped("every frame has an id; a client that reconnects with Last-Event-ID gets exactly what it missed, and an id the feed no longer has is a gap", () =>
    Effect.gen(function*() {
      const first = yield* connect(undefined)
      yield* drain(3)
      const seen = received(first).frames
      expect(seen.length).toBeGreaterThan(0)
      expect(seen.every((f) => f.id !== undefined && /^[0-9a-f]+-\d+$/.test(f.id))).toBe(true)
      expect(new Set(seen.map((f) => f.id)).size).toBe(seen.length)
      expect(completions(seen)).toHaveLength(3)

      // It left after the first task's end: resuming gives the rest, then what comes live.
      const cut = seen.findIndex((f) => f.data["status"] === "completed")
      const resumed = yield* connect(seen[cut]!.id)
      const unknown = yield* connect("0000-12")
      yield* drain(2, 3)
      const rest = received(resumed).frames
      expect(rest.map((f) => f.id)).toEqual([...seen.slice(cut + 1), ...received(first).frames].map((f) => f.id))
      expect(completions(rest)).toHaveLength(2 + 2)
      const gapped = received(unknown).frames
      expect(gapped[0]!.event).toBe("gap")
      expect(gapped[0]!.data["message"]).toMatch(/no longer kept.*re-read the state/)
      expect(completions(gapped)).toHaveLength(2)
    }).pipe(Effect.provide(feedLayer({}))))

  it.scoped("a client that falls behind gets a final dropped event and is let go; the others hear everything", () =>
    Effect.gen(function*() {
      const feed = yield* EventFeed.EventFeed
      const slow = yield* connect(undefined)
      const fast = yield* connect(undefined)
      const heard: Array<Frame> = []
      for (let i = 0; i < 12; i++) {
        yield* drain(1, i)
        heard.push(...received(fast).frames)
      }
      expect(completions(heard)).toHaveLength(12)
      const last = received(slow)
      expect(last.frames.at(-1)?.event).toBe("dropped")
      expect(last.frames.at(-1)?.data["message"]).toMatch(/reconnect with Last-Event-ID/)
      expect(last.ended).toBe(true)
      expect(yield* feed.clients).toBe(1)
    }).pipe(Effect.provide(feedLayer({ maxBehindBytes: 2048 }))))
})

describe("EventFeed's ring of frames", () => {
  const event = (n: number) => ({ _tag: "StatusChanged" as const, id: TaskId.unsafeMake(`t${n}`), type: "x", status: "running" as const, at: n })
  const idsIn = (text: string | undefined) => text === undefined ? undefined : [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1])

  it("resumes after any id it still covers; older ids, unknown runs and ids from before a clear are gaps", () => {
    const kept = EventFeed.ring(3)
    const ids = idsIn(kept.push([event(0), event(1), event(2), event(3)]))!
    expect(ids).toHaveLength(4)
    expect(idsIn(kept.since(ids[1]!))).toEqual(ids.slice(2))
    expect(idsIn(kept.since(ids[0]!))).toEqual(ids.slice(1))
    expect(kept.since(ids[3]!)).toBe("")
    expect(kept.since(ids[0]!.replace(/-\d+$/, "-99"))).toBeUndefined()
    expect(kept.since(`ffffffff-1`)).toBeUndefined()
    // After the feed fell behind (clear), even the latest id given out is a gap, with no stale
    // frame replayed; ids given out afterwards resume normally.
    kept.clear()
    expect(kept.since(ids[3]!)).toBeUndefined()
    const later = idsIn(kept.push([event(4), event(5)]))!
    expect(idsIn(kept.since(later[0]!))).toEqual([later[1]])
    expect(kept.since(ids[3]!)).toBeUndefined()
  })
})

describe("EventFeed.serve (one task's events, a log follow)", () => {
  const bytes = (text: string) => new TextEncoder().encode(text)
  const turns = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow(), { discard: true })
  /** Reads to the end of the body: it ends (a body that does not end fails the test by timing out). */
  const ends = (body: Readable) =>
    Effect.async<void>((resume) => {
      if (body.readableEnded) return resume(Effect.void)
      body.once("end", () => resume(Effect.void))
      body.resume()
    })
  const text = (body: Readable) => {
    const chunks: Array<Buffer> = []
    for (let c = body.read() as Buffer | null; c !== null; c = body.read() as Buffer | null) chunks.push(c)
    return Buffer.concat(chunks).toString("utf8")
  }

  it.scoped("writes the stream's frames once it is read, and ends when the stream does", () =>
    Effect.gen(function*() {
      const feed = yield* EventFeed.EventFeed
      const frames = yield* Queue.unbounded<Uint8Array | null>()
      const body = yield* feed.serve(Stream.fromQueue(frames).pipe(Stream.takeWhile((b): b is Uint8Array => b !== null)))
      body.read(0)
      yield* Queue.offerAll(frames, [bytes("event: a\ndata: {}\n\n"), bytes("event: b\ndata: {}\n\n"), null])
      yield* turns
      expect(text(body)).toBe("event: a\ndata: {}\n\nevent: b\ndata: {}\n\n")
      yield* ends(body)
    }).pipe(Effect.provide(feedLayer({}))))

  it.scoped("a body that falls behind gets a final dropped event and ends; the stream behind it is stopped", () =>
    Effect.gen(function*() {
      const feed = yield* EventFeed.EventFeed
      const frames = yield* Queue.unbounded<Uint8Array>()
      const body = yield* feed.serve(Stream.fromQueue(frames))
      body.read(0)
      for (let i = 0; i < 10; i++) yield* Queue.offer(frames, bytes(`event: n\ndata: {"i":${i},"pad":"${"x".repeat(40)}"}\n\n`))
      yield* turns
      const written = text(body)
      expect(written.endsWith(`event: dropped\ndata: {"_tag":"dropped","message":"this client fell 128 bytes behind and was let go so it would not slow the others: reconnect with Last-Event-ID to resume"}\n\n`)).toBe(true)
      yield* ends(body)
      // Nothing reads the stream any more: what is offered stays there.
      yield* Queue.offer(frames, bytes("late"))
      yield* turns
      expect(yield* Queue.size(frames)).toBeGreaterThan(0)
    }).pipe(Effect.provide(feedLayer({ maxBehindBytes: 128 }))))

  it.effect("at shutdown a body gets a last shutdown event and ends; one first read afterwards gets only that", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(feedLayer({}), scope)
      const feed = Context.get(context, EventFeed.EventFeed)
      const running = yield* feed.serve(Stream.never)
      running.read(0)
      const late = yield* feed.serve(Stream.never)
      yield* turns
      yield* Scope.close(scope, Exit.void)
      expect(text(running)).toContain("event: shutdown")
      yield* ends(running)
      expect(text(late)).toContain("event: shutdown")
      yield* ends(late)
    }))
})
