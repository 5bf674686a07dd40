/**
 * A worker thread's activity outbox: handlers' progress and log lines are buffered and sent as
 * chunks on the thread's one activity channel (Protocol.OpenActivity), coalescing progress on
 * the way. A flush happens every `interval`, when `maxItems` are buffered, and before a batch's
 * reply (the reply names the last chunk, so the pool delivers the lines before the outcomes).
 */
import type * as Activity from "../domain/Activity.js"
import type { FinishedSpan } from "../domain/Trace.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ActivityChunk } from "./Protocol.js"
import type { Emit } from "./runTask.js"

export interface Options {
  /** Items buffered before a flush is forced. */
  readonly maxItems?: number
  /** Longest an item waits in the buffer while the thread yields. */
  readonly interval?: Duration.DurationInput
}

export interface ActivityOutbox {
  /** Buffers one item (dropped while no channel is open: nobody would read it). */
  readonly emit: Emit
  /** Sends what is buffered; the number of the last chunk sent so far (0: none). */
  readonly flush: Effect.Effect<number>
  /** Buffers a span that ended in the thread; it goes with the next chunk. */
  readonly span: (span: FinishedSpan) => void
  /** Opens the channel: every chunk from now on, in order. */
  readonly open: () => Stream.Stream<ActivityChunk>
}

export const make = (options: Options = {}): Effect.Effect<ActivityOutbox, never, Scope.Scope> =>
  Effect.gen(function*() {
    const maxItems = options.maxItems ?? 256
    const chunks = yield* Queue.unbounded<ActivityChunk>()
    // Progress is coalesced as it is buffered: a newer report of the same attempt replaces the
    // older one (which leaves a hole), so a handler reporting in a tight loop neither forces
    // flushes nor grows the chunks. Only log lines and distinct attempts count toward maxItems.
    let buffer: Array<Activity.Activity | undefined> = []
    let spans: Array<FinishedSpan> = []
    let lines = 0
    const progressAt = new Map<string, number>()
    let seq = 0
    let opened = false
    // A CPU-bound handler starves the flush timer (Effect's yields are microtasks, timers never
    // fire): an item stamped `interval` after the last flush forces one, so progress still flows.
    const intervalMs = Duration.toMillis(Duration.decode(options.interval ?? "50 millis"))
    let flushedAt = 0

    const flushNow = (): number => {
      if (buffer.length > 0 || spans.length > 0) {
        const items = buffer.filter((i): i is Activity.Activity => i !== undefined)
        buffer = []
        lines = 0
        progressAt.clear()
        seq++
        if (spans.length === 0) {
          Queue.unsafeOffer(chunks, { seq, items })
        } else {
          Queue.unsafeOffer(chunks, { seq, items, spans })
          spans = []
        }
      }
      return seq
    }

    const add = (item: Activity.Activity) => {
      if (item._tag === "Progress") {
        const key = `${item.taskId}:${item.attempt}`
        const at = progressAt.get(key)
        if (at !== undefined) buffer[at] = undefined
        progressAt.set(key, buffer.length)
      } else {
        lines++
      }
      buffer.push(item)
      if (lines + progressAt.size >= maxItems || item.at - flushedAt >= intervalMs) {
        flushedAt = item.at
        flushNow()
      }
    }

    yield* Effect.sync(flushNow).pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(intervalMs))),
      Effect.forkScoped
    )

    return {
      emit: (item) =>
        Effect.sync(() => {
          if (opened) add(item)
        }),
      flush: Effect.sync(flushNow),
      span: (span) => {
        // Spans wait for the next flush (at the latest, the batch's reply) rather than force one.
        if (!opened) return
        spans.push(span)
        if (spans.length >= maxItems) flushNow()
      },
      open: () => {
        opened = true
        return Stream.fromQueue(chunks)
      }
    }
  })
