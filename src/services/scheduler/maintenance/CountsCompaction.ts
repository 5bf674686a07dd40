import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { Env } from "../State.js"

// Maintenance: folding the maintained counts, by the leading node (NodeHeartbeat). On
// PostgreSQL each write statement appends a delta per key; folded once a minute, the counts
// stay a few rows however busy the cluster is.

export const run = (env: Env) =>
  Effect.gen(function*() {
    yield* Effect.sleep(Duration.minutes(1))
    if (!(yield* Ref.get(env.cluster.leader))) return
    yield* env.store.compactCounts
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logError("folding the task counts failed", Cause.squash(cause))),
    Effect.forever
  )
