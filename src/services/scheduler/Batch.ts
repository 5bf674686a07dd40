import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type { Outcome } from "../../domain/Outcome.js"
import type { Claimed } from "../../domain/Task.js"
import { AttemptError } from "../../domain/TaskErrors.js"
import type { StoreError } from "../../domain/TaskErrors.js"
import type { Ran } from "../pool/Executor.js"
import type { StatusChanged } from "../events/TaskEvents.js"
import type { Completion, Failure } from "../store/TaskStore.js"
import { Command } from "./Command.js"
import type { Sent, Settled } from "./Command.js"
import * as Control from "./Control.js"
import * as DispatchSpans from "./DispatchSpans.js"
import * as Durably from "./durably.js"
import * as Metrics from "./Metrics.js"
import type { Sample } from "./Recorder.js"
import * as RetryDecision from "./retryDecision.js"
import type { Env } from "./State.js"

// A batch's own fiber: it runs the batch on its executor, commits the outcomes and publishes
// them, and tells the dispatcher (Answered, Ended). It never touches the dispatch state.

const send = (env: Env, command: Command) => Queue.offer(env.state.commands, command)

/**
 * Runs one batch and commits its outcomes; a store error leaves the leases to expire. `unused`
 * gives back the executor's room if `running` never started.
 */
export const run = (
  env: Env,
  sent: Sent,
  running: Effect.Effect<Ran>,
  unused: Effect.Effect<void>,
  claimedAt: number,
  traced: DispatchSpans.Traced | undefined
): Effect.Effect<void> => {
  let answered = false
  let settled: Settled | undefined
  const batch: NonEmptyReadonlyArray<Claimed> = sent.tasks
  // Started uninterruptible (Dispatch): the exit handler below is installed first, then the
  // body runs interruptibly.
  return Effect.interruptible(Effect.gen(function*() {
    const { busyMs, outcomes } = yield* running
    // The executor's room comes back as soon as it has answered, so the next batch is claimed
    // and sent while this one's outcomes commit: a thread idles for one claim, not a commit too.
    answered = true
    yield* send(env, Command.Answered({ sent }))
    if (traced !== undefined) yield* DispatchSpans.outcomes(traced, outcomes)
    const now = yield* Clock.currentTimeMillis
    // A batch that did not run (withdrawn, or its thread crashed: no time reported) says
    // nothing of how long its types take.
    const ran = outcomes.some((o) => o._tag === "Succeeded" || (o._tag === "Failed" && !crashedError(o)))
    settled = yield* finish(env, batch, outcomes, now, claimedAt, traced, ran ? busyMs / batch.length : undefined)
  })).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Effect.gen(function*() {
        yield* Effect.logError("batch could not be committed", Cause.squash(cause))
        // The spans of tasks not committed end with the error, not as OK below.
        if (traced !== undefined) yield* DispatchSpans.endAll(traced, Exit.failCause(cause))
      })
    ),
    Effect.onExit((exit) =>
      Effect.all([
        // The room reserved for a batch that never started (a no-op once it has).
        unused,
        traced === undefined ? Effect.void : DispatchSpans.endAll(traced, exit),
        answered ? Effect.void : send(env, Command.Answered({ sent })),
        send(env, Command.Ended({ sent, settled, interrupted: Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause) }))
      ], { discard: true })
    )
  )
}

/**
 * A thread that dies takes every attempt of its batch with it, and nothing says which task
 * killed it. So the attempts of a crashed batch of several are given back uncounted and each
 * runs again alone (a thread runs one request at a time): only the culprit crashes again, and
 * only its attempt fails.
 */
const isolateCrash = (env: Env, batch: ReadonlyArray<Claimed>, outcomes: ReadonlyArray<Outcome>, now: number, busyMsPerTask: number | undefined) =>
  Effect.gen(function*() {
    const released = yield* env.store.release(batch.map((t) => ({ id: t.id, token: t.token, countAttempt: false })), now)
    const crash = outcomes[0]
    yield* Effect.logWarning(
      `a worker thread died holding ${batch.length} attempts; running them one at a time to find the culprit` +
        (crash?._tag === "Failed" ? ` (${crash.error.message})` : "")
    )
    yield* env.events.publish(batch.filter((t) => released.includes(t.id)).map((t) => Control.changed(t, "pending", now)))
    return { busyMsPerTask, samples: [], givenBack: true, isolate: released, cascade: [], retrying: false } satisfies Settled
  })

const crashedError = (o: Outcome) => o._tag === "Failed" && (o.error._tag === "WorkerCrashed" || o.error._tag === "WorkerOutOfMemory")

const crashed = (outcomes: ReadonlyArray<Outcome>) => outcomes.length > 0 && outcomes.every(crashedError)

/**
 * An outcome is committed again while the store is away and the attempt's lease lasts: the work
 * done is not lost to a moment without a database. (A COMMIT cut off after it landed leaves the
 * retry nothing to change: the outcome is stored, its event is not published here; waiters read
 * it from the store.)
 */
const durably = <A>(env: Env, write: Effect.Effect<A, StoreError>) => Durably.durably("store outcomes", env.options.leaseDurationMs, write)

/**
 * Commits a batch's outcomes (group-committed by the store) and publishes what changed; what
 * the dispatcher's books need comes back as Settled (this fiber changes none of them).
 */
const finish = (
  env: Env,
  batch: ReadonlyArray<Claimed>,
  outcomes: ReadonlyArray<Outcome>,
  now: number,
  claimedAt: number,
  traced: DispatchSpans.Traced | undefined,
  busyMsPerTask: number | undefined
): Effect.Effect<Settled, StoreError> =>
  Effect.gen(function*() {
    if (batch.length > 1 && crashed(outcomes)) return yield* isolateCrash(env, batch, outcomes, now, busyMsPerTask)
    const byId = new Map(batch.map((t) => [t.id, t] as const))
    const completions: Array<Completion> = []
    const failures: Array<Failure> = []
    const abandoned: Array<Claimed> = []
    for (const outcome of outcomes) {
      const task = byId.get(outcome.id)
      if (task === undefined) continue
      if (outcome._tag === "Succeeded") {
        completions.push({ id: task.id, token: task.token, result: outcome.result })
      } else if (outcome._tag === "Abandoned") {
        abandoned.push(task)
      } else {
        const error = new AttemptError({ attempt: task.attempt, at: now, error: outcome.error })
        failures.push(yield* RetryDecision.decide(task, error, now, env.options.agingStepMs))
      }
    }
    // A task's log lines are stored and published before its outcome.
    yield* env.activityBarrier
    const [completed, failed, released] = yield* Effect.all([
      durably(env, env.store.complete(completions, now)),
      durably(env, env.store.fail(failures, now)),
      durably(env, env.store.release(abandoned.map((t) => ({ id: t.id, token: t.token, countAttempt: false })), now))
    ], { concurrency: "unbounded" })
    const published: Array<StatusChanged> = []
    const samples: Array<Sample> = []
    const metrics = env.telemetry.metrics
    const sample = (task: Claimed, status: "completed" | "retrying" | "failed") => {
      const runMs = now - claimedAt
      const waitMs = Math.max(0, claimedAt - task.runAt)
      samples.push({ at: now, runMs, waitMs, ok: status === "completed" })
      if (metrics) Metrics.recordAttempt(task.type, status, runMs, waitMs)
    }
    for (const id of completed.ids) {
      const task = byId.get(id)!
      published.push(Control.changed(task, "completed", now))
      sample(task, "completed")
    }
    const failedSet = new Set(failed.ids)
    let retrying = false
    for (const f of failures) {
      if (!failedSet.has(f.id)) continue
      const task = byId.get(f.id)!
      const retry = f.next._tag === "Retry"
      retrying ||= retry
      published.push(Control.changed(task, retry ? "retrying" : "failed", now))
      sample(task, retry ? "retrying" : "failed")
    }
    for (const id of released) published.push(Control.changed(byId.get(id)!, "pending", now))
    const stale = batch.length - completed.ids.length - failed.ids.length - released.length
    if (stale > 0) yield* Effect.logDebug(`${stale} attempt(s) ended after their task moved on (cancelled or lease lost); outcome ignored`)
    // The dispatch spans end once their outcome is durable, before anyone hears of it.
    if (traced !== undefined) yield* DispatchSpans.committed(traced, published)
    // Waiters of the tasks that completed get their results with the event (no store read).
    const results = new Map<string, unknown>()
    if (completed.ids.length > 0) {
      const done = new Set<string>(completed.ids)
      for (const c of completions) if (done.has(c.id)) results.set(c.id, c.result)
    }
    yield* env.events.publish(published, results)
    return {
      busyMsPerTask,
      samples,
      givenBack: released.length > 0,
      isolate: [],
      cascade: [...completed.changes, ...failed.changes],
      retrying
    } satisfies Settled
  })
