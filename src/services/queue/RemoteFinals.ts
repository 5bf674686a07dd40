import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskEvents } from "../events/TaskEvents.js"
import type { TaskStore } from "../store/TaskStore.js"

/**
 * The one poller behind `await`, `watch` and `logs --follow` for tasks another process may
 * end (this process publishes its own changes): every interval, one read of the tasks anyone
 * here waits for or watches, and their final statuses handed to those waiters. A waiting task
 * costs a map entry and a Deferred, not a fiber and a store read per interval.
 */
export const poll = (
  store: TaskStore["Type"],
  events: TaskEvents["Type"],
  everyMs: number,
  runningHere: (ids: ReadonlyArray<TaskId>) => Effect.Effect<ReadonlyArray<TaskId>>
) =>
  Effect.gen(function*() {
    const ids = yield* events.interest
    if (ids.length === 0) return
    const ended = yield* store.finalAmong(ids)
    if (ended.length === 0) return
    // A task this process still runs (cancelled, its attempt stopping) ends here, after its
    // last log lines: its end is not taken from the store early.
    const here = new Set(yield* runningHere(ended.map((e) => e.id)))
    const elsewhere = ended.filter((e) => !here.has(e.id))
    if (elsewhere.length > 0) yield* events.settle(elsewhere)
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("could not read the status of awaited tasks", Cause.squash(cause))),
    Effect.repeat(Schedule.spaced(Duration.millis(everyMs))),
    Effect.asVoid
  )
