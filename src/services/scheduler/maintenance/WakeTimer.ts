import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Control from "../Control.js"
import * as Turn from "../turn.js"
import type { Env } from "../State.js"

// Maintenance: the wake-up timer. It only reads the store and sends the dispatcher commands.

/** Wakes delayed and retrying tasks at their run-at, via Clock. */
export const run = (env: Env) =>
  Effect.gen(function*() {
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const next = yield* env.store.nextWakeAt
      if (Option.isSome(next) && next.value <= now) {
        const woken = yield* env.store.wakeDue(now)
        if (woken > 0) yield* Control.wake(env.state, true)
        // Due one after another, tasks can keep this loop going: the event loop gets its turns.
        yield* Turn.maybeYield
        continue
      }
      const wait = Option.match(next, {
        onNone: () => env.options.pollIntervalMs,
        onSome: (at) => Math.min(at - now, env.options.pollIntervalMs)
      })
      yield* Effect.race(Effect.sleep(Duration.millis(wait)), Queue.take(env.state.timerWake))
      // Another process may have made work ready, or paused or resumed: look at the store.
      yield* Control.refreshPauses(env)
      yield* Control.wake(env.state, true)
    }
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logError("timer failed; restarting", Cause.squash(cause))),
    Effect.zipRight(Effect.sleep(Duration.millis(env.options.pollIntervalMs))),
    Effect.forever
  )

