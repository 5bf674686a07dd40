import * as Context from "effect/Context"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Activity_ from "../../domain/Activity.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { ActivitySink } from "../pool/Executor.js"
import { TaskEvents } from "./TaskEvents.js"
import { TaskStore } from "../store/TaskStore.js"

export interface Options {
  /** Log lines kept per task; the first line past it becomes a truncation marker. */
  readonly logCap: number
  /** How often the latest progress of running tasks is written to the store. */
  readonly progressFlushMs: number
}

/** How much progress reporting was coalesced on its way (for benchmarks and stats). */
export interface Counters {
  /** Progress items that reached this process (after the worker's own coalescing). */
  readonly progressReceived: number
  /** Progress events published to subscribers. */
  readonly progressPublished: number
  /** Progress values written to the store. */
  readonly progressStored: number
  readonly logsReceived: number
  readonly logsStored: number
}

/**
 * Where running handlers' progress and log lines arrive (from worker threads' event channels
 * and from in-process fibers). One fiber drains what arrived: log lines are appended to the
 * store (capped per task) and then everything is published in the order reported, progress
 * coalesced to the latest per attempt. Progress reaches the store every `progressFlushMs`, one
 * write for all running tasks, and once more at the barrier before outcomes are committed (so a
 * finished task keeps its last report): a handler reporting thousands of times a second costs
 * the store at most one progress write per interval and per settled batch, both through the
 * store's group commit, which keeps them in order.
 */
export class Activity extends Context.Tag("troupe/Activity")<Activity, {
  readonly sink: ActivitySink
  /**
   * Waits until everything reported so far is stored and published, progress included: the
   * scheduler passes it before committing outcomes, so a task's log lines always come before
   * its final status, and its final state holds its last progress report.
   */
  readonly barrier: Effect.Effect<void>
  readonly counters: Effect.Effect<Counters>
}>() {}

interface Barrier {
  readonly _tag: "Barrier"
  readonly done: Deferred.Deferred<void>
}

export const make = (options: Options) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const events = yield* TaskEvents
    const inbox = yield* Queue.unbounded<Activity_.Activity | Barrier>()
    /** Items offered and not yet published: the barrier is free while there are none. */
    let pending = 0
    const dirty = new Map<TaskId, Activity_.Progress>()
    const counters = { progressReceived: 0, progressPublished: 0, progressStored: 0, logsReceived: 0, logsStored: 0 }

    /** Stores the log lines of what arrived, then publishes it all in the order reported. */
    const record = (reported: ReadonlyArray<Activity_.Activity>) =>
      Effect.gen(function*() {
        const items = Activity_.coalesce(reported)
        const lines = items.filter((i): i is Activity_.Log => i._tag === "Log")
        const stored = lines.length === 0 ? [] : yield* store.appendLogs(lines, options.logCap)
        counters.logsStored += stored.length
        // A line that was not stored (past the cap, or its task is gone) is not published
        // either; a marker replaces the first one cut.
        const storedAt = new Map(stored.map((l) => [`${l.taskId}:${l.attempt}:${l.n}`, l] as const))
        const published: Array<Activity_.Activity> = []
        for (const item of items) {
          if (item._tag === "Progress") {
            published.push(item)
            dirty.set(item.taskId as TaskId, item)
            counters.progressPublished++
          } else {
            const line = storedAt.get(`${item.taskId}:${item.attempt}:${item.n}`)
            if (line !== undefined) published.push(line)
          }
        }
        yield* events.publish(published)
      }).pipe(Effect.catchAllCause((cause) => Effect.logError("could not record task activity", Cause.squash(cause))))

    const drain = Effect.gen(function*() {
      const first = yield* Queue.take(inbox)
      const taken = [first, ...(yield* Queue.takeAll(inbox))]
      const reported = taken.filter((i): i is Activity_.Activity => i._tag !== "Barrier")
      if (reported.length > 0) yield* record(reported)
      pending -= reported.length
      for (const item of taken) if (item._tag === "Barrier") yield* Deferred.succeed(item.done, undefined)
    }).pipe(Effect.forever)

    /** Stores the latest progress of each task that reported some since the last time. */
    const storeProgress = Effect.suspend(() => {
      if (dirty.size === 0) return Effect.void
      const items = [...dirty.values()].map((p) => ({ id: p.taskId as TaskId, percent: p.percent, description: p.description }))
      dirty.clear()
      return Effect.tap(store.setProgress(items), () => { counters.progressStored += items.length })
    }).pipe(Effect.catchAllCause((cause) => Effect.logError("could not record progress", Cause.squash(cause))))

    const flushProgress = Effect.zipRight(Effect.sleep(Duration.millis(options.progressFlushMs)), storeProgress).pipe(Effect.forever)

    yield* Effect.forkScoped(drain)
    yield* Effect.forkScoped(flushProgress)

    return Activity.of({
      sink: (items) =>
        Effect.suspend(() => {
          for (const item of items) {
            if (item._tag === "Progress") counters.progressReceived++
            else counters.logsReceived++
          }
          pending += items.length
          return Queue.offerAll(inbox, items)
        }),
      // The progress too: a task's stored state when it ends holds its last report (stored only
      // while it runs), not the one of the last periodic flush.
      barrier: Effect.zipRight(
        Effect.suspend(() =>
          pending === 0
            ? Effect.void
            : Effect.flatMap(Deferred.make<void>(), (done) => Effect.zipRight(Queue.offer(inbox, { _tag: "Barrier", done }), Deferred.await(done)))
        ),
        storeProgress
      ),
      counters: Effect.sync(() => ({ ...counters }))
    })
  }).pipe(Effect.annotateLogs({ service: "Activity" }))

export const layer = (options: Options): Layer.Layer<Activity, never, TaskStore | TaskEvents> =>
  Layer.scoped(Activity, make(options))
