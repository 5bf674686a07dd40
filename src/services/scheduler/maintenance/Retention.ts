import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { Env } from "../State.js"

// Maintenance: the retention sweep, run by the leading node (NodeHeartbeat).

/** Deletes final tasks (and their logs) older than the retention period; 0 keeps them. */
export const run = (env: Env) =>
  env.options.retentionMs <= 0 ? Effect.never : Effect.gen(function*() {
    yield* Effect.sleep(Duration.millis(Math.min(60_000, Math.max(1, env.options.retentionMs / 2))))
    // One node sweeps: the leader.
    if (!(yield* Ref.get(env.cluster.leader))) return
    const now = yield* Clock.currentTimeMillis
    let purged = 0
    for (;;) {
      const n = yield* env.store.purge(now - env.options.retentionMs, 1000)
      purged += n
      if (n < 1000) break
    }
    if (purged > 0) yield* Effect.logInfo(`retention: purged ${purged} finished task(s)`)
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logError("retention sweep failed", Cause.squash(cause))),
    Effect.forever
  )

