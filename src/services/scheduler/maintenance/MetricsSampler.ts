import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metrics from "../Metrics.js"
import type { Env } from "../State.js"

// Maintenance: queue-depth gauges, sampled (telemetry on).

/** Samples queue depth by status and the running count into their gauges (telemetry on). */
export const run = (env: Env) =>
  Effect.gen(function*() {
    const counts = yield* env.store.counts
    Metrics.recordDepth(counts, env.state.inFlight.size)
    yield* Effect.sleep(Duration.millis(env.telemetry.sampleEveryMs))
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.zipRight(
        Effect.logWarning("metrics sampling failed", Cause.squash(cause)),
        Effect.sleep(Duration.millis(env.telemetry.sampleEveryMs))
      )
    ),
    Effect.forever
  )
