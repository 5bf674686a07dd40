import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type { Scope } from "effect/Scope"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskEvents } from "../events/TaskEvents.js"
import type { TaskStore } from "../store/TaskStore.js"

/**
 * What `await`, `watch` and `logs --follow` learn from the store, in shared reads: a task that
 * another process ends is not published here, and a task awaited may have ended (or never
 * existed) before its waiter registered. Two fibers read for every waiter at once:
 * - `check`: a waiter just registered. The ids registered meanwhile are read together as soon
 *   as the reader runs — one query for a burst of awaits, none of them reads alone;
 * - every interval, the tasks anyone here waits for or watches.
 * Final tasks are handed to their waiters and watchers (`settle`); the waiters of a task that
 * does not exist (deleted, or a wrong id) fail with TaskNotFound. A waiting task costs a map
 * entry, not a fiber and not a store read.
 */
export interface RemoteFinals {
  /** Reads `id`'s status soon, with every other id checked meanwhile. */
  readonly check: (id: TaskId) => Effect.Effect<void>
}

export const make = (
  store: TaskStore["Type"],
  events: TaskEvents["Type"],
  everyMs: number,
  runningHere: (ids: ReadonlyArray<TaskId>) => Effect.Effect<ReadonlyArray<TaskId>>
): Effect.Effect<RemoteFinals, never, Scope> =>
  Effect.gen(function*() {
    const read = (ids: ReadonlyArray<TaskId>) =>
      Effect.gen(function*() {
        if (ids.length === 0) return
        const { ended, missing } = yield* store.endsAmong(ids)
        if (missing.length > 0) yield* events.missing(missing)
        if (ended.length === 0) return
        // A task this process still runs (cancelled, its attempt stopping) ends here, after its
        // last log lines: its end is not taken from the store early.
        const here = new Set(yield* runningHere(ended.map((e) => e.id)))
        const elsewhere = ended.filter((e) => !here.has(e.id))
        if (elsewhere.length > 0) yield* events.settle(elsewhere)
      }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("could not read the status of awaited tasks", Cause.squash(cause))))

    const fresh = new Set<TaskId>()
    const wake = yield* Queue.sliding<void>(1)
    yield* Queue.take(wake).pipe(
      Effect.zipRight(Effect.suspend(() => {
        const ids = [...fresh]
        fresh.clear()
        return read(ids)
      })),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Effect.flatMap(events.interest, read).pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(everyMs))),
      Effect.forkScoped
    )
    return {
      check: (id) =>
        Effect.sync(() => {
          fresh.add(id)
          Queue.unsafeOffer(wake, undefined)
        })
    }
  })
