import type * as Worker from "@effect/platform/Worker"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Stream from "effect/Stream"
import type { FinishedSpan } from "../../domain/Trace.js"
import * as Protocol from "../../workers/Protocol.js"
import type { ActivitySink } from "./Executor.js"

/**
 * How far one thread's activity channel has been delivered to the sink, so a batch's reply can
 * wait until the lines flushed before it have arrived (a task's lines come before its outcome).
 */
export interface Delivery {
  delivered: number
  closed: boolean
  readonly waiters: Array<{ readonly seq: number; readonly latch: Deferred.Deferred<void> }>
}

export const make = (): Delivery => ({ delivered: 0, closed: false, waiters: [] })

const release = (delivery: Delivery): void => {
  for (let i = delivery.waiters.length - 1; i >= 0; i--) {
    const waiter = delivery.waiters[i]!
    if (delivery.closed || waiter.seq <= delivery.delivered) {
      delivery.waiters.splice(i, 1)
      Deferred.unsafeDone(waiter.latch, Exit.void)
    }
  }
}

/** Waits until chunk `seq` was delivered (or the channel closed); at once when it already was. */
export const awaitChunk = (delivery: Delivery | undefined, seq: number): Effect.Effect<void> => {
  if (delivery === undefined || delivery.closed || seq <= delivery.delivered) return Effect.void
  const latch = Deferred.unsafeMake<void>(FiberId.none)
  delivery.waiters.push({ seq, latch })
  return Deferred.await(latch)
}

/**
 * Opens the thread's activity channel and forwards every chunk to the sink until the thread
 * ends; a thread that dies simply ends its channel (the batch replies carry the crash).
 */
export const forward = (
  worker: Worker.SerializedWorker<Protocol.Request>,
  sink: ActivitySink,
  delivery: Delivery,
  onSpans?: ((spans: ReadonlyArray<FinishedSpan>) => void) | undefined
): Effect.Effect<void> =>
  worker.execute(new Protocol.OpenActivity()).pipe(
    Stream.runForEach((chunk) =>
      Effect.zipRight(
        chunk.items.length === 0 ? Effect.void : sink(chunk.items),
        Effect.sync(() => {
          // Before the chunk counts as delivered: a batch's spans are exported before its reply returns.
          if (chunk.spans !== undefined && onSpans !== undefined) {
            try {
              onSpans(chunk.spans)
            } catch {
              // A span processor that throws loses its spans, not the thread's activity channel.
            }
          }
          delivery.delivered = chunk.seq
          release(delivery)
        })
      )
    ),
    Effect.catchAllCause(() => Effect.void),
    Effect.ensuring(Effect.sync(() => {
      delivery.closed = true
      release(delivery)
    }))
  )
