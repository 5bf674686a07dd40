import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type { Leased } from "../../../domain/Task.js"
import { AttemptError, AttemptLost } from "../../../domain/TaskErrors.js"
import { Command } from "../Command.js"
import * as Control from "../Control.js"
import * as RetryDecision from "../retryDecision.js"
import type { Env } from "../State.js"

// Attempts that ended without an outcome — their lease expired, or the process that ran them
// is gone — end through the same retry decision as any failed attempt: they count, they are
// recorded with a typed reason, and past maxAttempts the task fails. A task that kills its
// process on every attempt therefore ends `failed` instead of crash-looping the server.

const describe = (task: Leased, reason: AttemptLost["reason"]): string => {
  switch (reason) {
    case "ownerGone":
      return `attempt ${task.attempt} ended with the process that ran it: ${task.owner} is gone (killed, crashed or out of memory)`
    case "nodeDead":
      return `attempt ${task.attempt} ended with its node: ${task.owner} stopped heartbeating and was declared dead (killed, crashed, or cut off from the store)`
    case "leaseExpired":
      return `attempt ${task.attempt} was lost: the lease held by ${task.owner} expired (its process stopped renewing it: crashed, hung or cut off from the store)`
  }
}

const lostHow: Record<AttemptLost["reason"], string> = {
  ownerGone: "left running by a process that is gone",
  nodeDead: "left running by a node declared dead",
  leaseExpired: "whose lease expired"
}

/** Ends lost attempts as failed ones (retry or final failure); returns how many were ended. */
export const endLost = (env: Env, leased: ReadonlyArray<Leased>, reason: AttemptLost["reason"]) =>
  Effect.gen(function*() {
    if (leased.length === 0) return 0
    const now = yield* Clock.currentTimeMillis
    const failures = yield* Effect.forEach(leased, (task) =>
      RetryDecision.decide(
        task,
        new AttemptError({
          attempt: task.attempt,
          at: now,
          error: new AttemptLost({ reason, owner: task.owner, message: describe(task, reason) })
        }),
        now,
        env.options.agingStepMs
      ))
    // Guarded by each attempt's token (a task that moved on is left alone) and, for expired
    // leases, by the expiry: a lease its owner renewed since the read keeps its attempt.
    const applied = yield* env.store.fail(
      reason === "leaseExpired" ? failures.map((f) => ({ ...f, leaseExpiredBefore: now })) : failures,
      now
    )
    if (applied.ids.length === 0) return 0
    const byId = new Map(leased.map((t) => [t.id, t] as const))
    const next = new Map(failures.map((f) => [f.id, f.next._tag] as const))
    const ended = applied.ids.map((id) => byId.get(id)!)
    const retrying = ended.filter((t) => next.get(t.id) === "Retry")
    const owners = [...new Set(ended.map((t) => t.owner))].join(", ")
    yield* Effect.logWarning(
      `recovered ${ended.length} task(s) ${lostHow[reason]} ` +
        `(${owners}), the attempt counted: ${retrying.length} will retry, ${ended.length - retrying.length} failed after their last attempt`
    )
    yield* env.events.publish(ended.map((t) => Control.changed(t, next.get(t.id) === "Retry" ? "retrying" : "failed", now)))
    // Dependents of final failures, and the next task of each actor key.
    const keys = [...new Set(ended.flatMap((t) => (t.key === null ? [] : [t.key])))]
    yield* Control.send(env.state, Command.Changed({ changes: applied.changes, endedKeys: keys, done: undefined }))
    if (retrying.length > 0) yield* Queue.offer(env.state.timerWake, undefined)
    return ended.length
  })

/** Running attempts whose owner is known to be gone (its process no longer exists). */
export const recoverOrphans = (env: Env) =>
  Effect.gen(function*() {
    const ownerGone = env.options.ownerGone
    if (ownerGone === undefined) return 0
    const gone = (yield* env.store.leaseOwners).filter((owner) => owner !== env.options.owner && ownerGone(owner))
    if (gone.length === 0) return 0
    return yield* endLost(env, yield* env.store.leasesOf(gone), "ownerGone")
  })

/**
 * Running attempts whose lease expired. This process's own attempts that still run are left
 * alone whatever their lease says (the heartbeat renews it): one live attempt per task.
 */
export const recoverExpired = (env: Env) =>
  Effect.gen(function*() {
    const expired = yield* env.store.expiredLeases(yield* Clock.currentTimeMillis)
    return yield* endLost(env, expired.filter((t) => !env.state.inFlight.has(t.id)), "leaseExpired")
  })

/** Both recoveries (at start-up, before anything is dispatched). */
export const recover = (env: Env) =>
  Effect.zipRight(recoverOrphans(env), recoverExpired(env))

/** Every `everyMs`, a recovery (it schedules what it made ready itself). */
const sweep = (everyMs: number, what: string, recovery: Effect.Effect<number, unknown>) =>
  Effect.sleep(Duration.millis(everyMs)).pipe(
    Effect.zipRight(recovery),
    Effect.catchAllCause((cause) => Effect.logError(`${what} failed`, Cause.squash(cause))),
    Effect.forever
  )

/** Expired leases every lease duration, by the leading node. */
export const expiredLoop = (env: Env) =>
  sweep(env.options.leaseDurationMs, "lease recovery", Effect.flatMap(Ref.get(env.cluster.leader), (leads) => (leads ? recoverExpired(env) : Effect.succeed(0))))

/** Leases of gone owners every poll interval: a process of this pid namespace that died is seen within one. */
export const orphanLoop = (env: Env) =>
  env.options.ownerGone === undefined
    ? Effect.never
    : sweep(env.options.pollIntervalMs, "orphan recovery", recoverOrphans(env))

