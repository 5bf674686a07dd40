import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { TaskId } from "../../domain/TaskId.js"
import * as Control from "./Control.js"
import * as LeaseRecovery from "./LeaseRecovery.js"
import * as Metrics from "./Metrics.js"
import type { Env } from "./State.js"

// The scheduler's background fibers besides the dispatcher.

/** Wakes delayed and retrying tasks at their run-at, via Clock. */
export const timerLoop = (env: Env) =>
  Effect.gen(function*() {
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const next = yield* env.store.nextWakeAt
      if (Option.isSome(next) && next.value <= now) {
        const woken = yield* env.store.wakeDue(now)
        if (woken > 0) yield* Control.wake(env.state, true)
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

/** Extends the leases of this process's running attempts while they run. */
export const heartbeatLoop = (env: Env) =>
  Effect.gen(function*() {
    yield* Effect.sleep(Duration.millis(env.options.leaseDurationMs / 3))
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

/** Both recoveries (at start-up, before anything is dispatched). */
export const recover = (env: Env) =>
  Effect.zipRight(LeaseRecovery.recoverOrphans(env), LeaseRecovery.recoverExpired(env))

/** Every `everyMs`, a recovery (it schedules what it made ready itself). */
const sweep = (everyMs: number, what: string, recovery: Effect.Effect<number, unknown>) =>
  Effect.sleep(Duration.millis(everyMs)).pipe(
    Effect.zipRight(recovery),
    Effect.catchAllCause((cause) => Effect.logError(`${what} failed`, Cause.squash(cause))),
    Effect.forever
  )

/** Expired leases every lease duration. */
export const recoveryLoop = (env: Env) => sweep(env.options.leaseDurationMs, "lease recovery", LeaseRecovery.recoverExpired(env))

/** Leases of gone owners every poll interval: a process of this pid namespace that died is seen within one. */
export const orphanLoop = (env: Env) =>
  env.options.ownerGone === undefined
    ? Effect.never
    : sweep(env.options.pollIntervalMs, "orphan recovery", LeaseRecovery.recoverOrphans(env))

/** Gives this process's unfinished attempts back (pending, attempt not counted). */
export const releaseAll = (store: Env["store"], inFlight: ReadonlyMap<TaskId, string>) =>
  Effect.gen(function*() {
    if (inFlight.size === 0) return
    const now = yield* Clock.currentTimeMillis
    const items = [...inFlight].map(([id, token]) => ({ id, token, countAttempt: false }))
    const released = yield* store.release(items, now)
    yield* Effect.logInfo(`released ${released.length} unfinished attempt(s) for the next start`)
  }).pipe(Effect.catchAllCause((cause) => Effect.logError("could not release attempts", Cause.squash(cause))))

/** Deletes final tasks (and their logs) older than the retention period; 0 keeps them. */
export const retentionLoop = (env: Env) =>
  env.options.retentionMs <= 0 ? Effect.never : Effect.gen(function*() {
    yield* Effect.sleep(Duration.millis(Math.min(60_000, Math.max(1, env.options.retentionMs / 2))))
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

/** Samples queue depth by status and the running count into their gauges (telemetry on). */
export const metricsLoop = (env: Env) =>
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
