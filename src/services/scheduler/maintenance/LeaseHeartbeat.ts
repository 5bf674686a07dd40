import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { TaskId } from "../../../domain/TaskId.js"
import * as Control from "../Control.js"
import type { Env } from "../State.js"

// Maintenance: the lease heartbeat, and the release of this process's attempts at shutdown.

/**
 * Extends the leases of this process's running attempts while they run: every third of the
 * lease, or at once when another process cancelled a task (`leaseCheck`).
 */
export const run = (env: Env) =>
  Effect.gen(function*() {
    yield* Effect.race(Effect.sleep(Duration.millis(env.options.leaseDurationMs / 3)), Queue.take(env.state.leaseCheck))
    if (env.state.inFlight.size === 0) return
    const now = yield* Clock.currentTimeMillis
    // Every attempt this process runs keeps its lease while it runs, whatever its handler does:
    // the main thread renews it, and knows its threads are alive (a dead thread fails its
    // request at once; one that overstays its timeout or a cancel is terminated by the pool).
    // A handler busy computing cannot run a timer in its thread, so no proof from it is asked.
    const items = [...env.state.inFlight].map(([id, token]) => ({ id, token }))
    const kept = new Set(yield* env.store.extendLeases(items, now + env.options.leaseDurationMs))
    // A lease this process no longer holds was taken away: the task was cancelled (perhaps by
    // another process) or recovered. Its attempt stops here too.
    const lost = items.filter((i) => !kept.has(i.id) && env.state.inFlight.get(i.id) === i.token).map((i) => i.id)
    if (lost.length > 0) {
      yield* Effect.logInfo(`${lost.length} running attempt(s) lost their lease (cancelled or recovered elsewhere); interrupting them`)
      yield* Control.interrupt(env, lost)
    }
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logError("lease heartbeat failed", Cause.squash(cause))),
    Effect.forever
  )

/** Gives this process's unfinished attempts back (pending, attempt not counted). */
export const releaseAll = (store: Env["store"], inFlight: ReadonlyMap<TaskId, string>) =>
  Effect.gen(function*() {
    if (inFlight.size === 0) return
    const now = yield* Clock.currentTimeMillis
    const items = [...inFlight].map(([id, token]) => ({ id, token, countAttempt: false }))
    const released = yield* store.release(items, now)
    yield* Effect.logInfo(`released ${released.length} unfinished attempt(s) for the next start`)
  }).pipe(Effect.catchAllCause((cause) => Effect.logError("could not release attempts", Cause.squash(cause))))

