import * as Arr from "effect/Array"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { Outcome } from "../../domain/Outcome.js"
import type { Claimed } from "../../domain/Task.js"
import { AttemptError } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as Resources from "../../domain/Resources.js"
import type { Executor, Ran } from "../Executor.js"
import type { Permit } from "../ResourceGovernor.js"
import type { StatusChanged } from "../TaskEvents.js"
import type { Change, Completion, Failure } from "../TaskStore.js"
import * as Control from "./Control.js"
import * as DispatchSpans from "./DispatchSpans.js"
import * as Metrics from "./Metrics.js"
import * as RetryDecision from "./retryDecision.js"
import type { Env, Lane, State } from "./State.js"

const laneOf = (state: State, executor: Executor): Lane => {
  let lane = state.lanes.get(executor)
  if (lane === undefined) state.lanes.set(executor, lane = { tasks: 0, runs: 0 })
  return lane
}

/** Reads the store's best page of tasks that may run into the mailbox. */
const refill = (env: Env) => {
  const excluded = Control.blockedTypes(env)
  env.state.lastExcluded = new Set(excluded)
  return Effect.flatMap(env.store.ready(env.options.mailboxCapacity, excluded), (page) =>
    Effect.sync(() => {
      const skip = new Set<TaskId>([
        ...env.state.inFlight.keys(),
        ...env.state.claiming,
        ...env.state.waitingForResources.map((r) => r.id)
      ])
      env.state.mailbox.merge(page, skip, env.options.mailboxCapacity)
    }))
}

/**
 * Most tasks per request: one when the queue is shallow (latency), up to the executor's
 * maximum when it is deep (throughput). How long tasks take trims it further (`step`).
 */
const batchSize = (env: Env, executor: Executor, free: number, slots: number): number => {
  const { mailbox } = env.state
  const depth = mailbox.exhaustive ? mailbox.size : Number.MAX_SAFE_INTEGER
  const byDepth = Math.ceil(depth / Math.max(1, slots))
  return Math.max(1, Math.min(free, executor.maxBatch, byDepth))
}

/** One turn of the dispatcher: refill, take a batch for one executor, claim it, run it. */
export const step = (env: Env): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { mailbox } = env.state
    if (env.state.queuePaused || env.state.stopping) return yield* Queue.take(env.state.wake)
    // Memory pressure closed admission: nothing starts until it reopens.
    if (env.governor !== undefined && !(yield* env.governor.admitting)) {
      return yield* Effect.raceFirst(Queue.take(env.state.wake), env.governor.awaitAdmitting)
    }
    if (!mailbox.exhaustive && mailbox.size < env.options.mailboxCapacity / 2) {
      yield* refill(env)
      // Everything ready is set aside (waiting for resources): wait for a change.
      if (mailbox.size === 0) return yield* Queue.take(env.state.wake)
    }
    const top = mailbox.peek()
    if (top === undefined) return yield* Queue.take(env.state.wake)
    // A type that is paused or at its limit does not hold up the others: set its task aside.
    if (Control.isBlocked(env, top.type)) {
      mailbox.take()
      Control.park(env.state, top)
      return
    }
    const executor = env.executors.forType(top.type)
    const lane = laneOf(env.state, executor)
    const [capacity, slots] = yield* Effect.zip(executor.capacity, executor.slots)
    const free = capacity - lane.tasks
    if (free <= 0 || lane.runs >= slots) return yield* Queue.take(env.state.wake)
    // With work in flight and a deep queue, wait until a worthwhile batch fits: many tiny
    // batches cost a claim and a commit each.
    const worthwhile = Math.min(executor.maxBatch, Math.ceil(capacity / 2))
    if (lane.tasks > 0 && free < worthwhile && (!mailbox.exhaustive || mailbox.size >= worthwhile)) {
      return yield* Queue.take(env.state.wake)
    }

    // No idle worker: only a short batch may start, queued behind a short one (pipelining
    // bounded by targetBatch); the best task waits rather than be passed by a lower one.
    const shortOnly = !(yield* executor.room(false))
    if (shortOnly) {
      const estimate = env.state.typeMs.get(top.type)
      const short = estimate !== undefined && estimate <= env.options.targetBatchMs && top.resources === null &&
        !env.state.isolate.has(top.id)
      if (!short || !(yield* executor.room(true))) return yield* Queue.take(env.state.wake)
    }

    // A task that declares resources runs alone, under a permit; one that does not fit waits
    // aside, and the best such task holds a reservation (see ResourceGovernor).
    let permit: Permit | undefined
    if (top.resources !== null && env.governor !== undefined) {
      const reserved = env.state.reserved
      const held = yield* env.governor.tryAcquire(
        top.resources,
        reserved !== undefined && reserved.id !== top.id && reserved.resources !== null ? reserved.resources : Resources.zero
      )
      if (Option.isNone(held)) {
        mailbox.take()
        env.state.waitingForResources.push(top)
        if (env.state.reserved === undefined) env.state.reserved = top
        return
      }
      permit = held.value
      if (env.state.reserved?.id === top.id) env.state.reserved = undefined
    }
    const n = permit !== undefined ? 1 : batchSize(env, executor, free, slots)
    const ids: Array<TaskId> = []
    const perType = new Map<string, number>()
    // A batch runs its tasks one after another, so it holds about `targetBatchMs` of measured
    // work: a type not yet timed, or slower than that, runs alone (concurrently with others).
    let planned = 0
    // A task suspected of crashing its thread runs on an idle thread, with nothing queued
    // behind it, so a crash is surely its own.
    let isolated = false
    while (ids.length < n) {
      const next = mailbox.peek()
      if (next === undefined || env.executors.forType(next.type) !== executor) break
      if (ids.length > 0 && next.resources !== null && env.governor !== undefined) break
      const limit = env.options.typeLimit(next.type)
      const inBatch = perType.get(next.type) ?? 0
      if (env.state.pausedTypes.has(next.type)) break
      if (limit !== undefined && (env.state.typeRunning.get(next.type) ?? 0) + inBatch >= limit) break
      const alone = env.state.isolate.has(next.id)
      if (alone && ids.length > 0) break
      const estimate = env.state.typeMs.get(next.type)
      if (ids.length > 0 && (estimate === undefined || planned + estimate > env.options.targetBatchMs)) break
      planned += estimate ?? Number.POSITIVE_INFINITY
      mailbox.take()
      ids.push(next.id)
      perType.set(next.type, inBatch + 1)
      env.state.claiming.add(next.id)
      if (alone) {
        env.state.isolate.delete(next.id)
        isolated = true
        break
      }
    }
    const now = yield* Clock.currentTimeMillis
    const token = `${env.options.owner}:${++env.state.tokenCounter}`
    const claimed = yield* env.store.claim(ids, {
      owner: env.options.owner,
      token,
      expiresAt: now + env.options.leaseDurationMs,
      now
    }).pipe(
      Effect.ensuring(Effect.sync(() => ids.forEach((id) => env.state.claiming.delete(id)))),
      Effect.onError(() => permit?.release ?? Effect.void)
    )
    if (!Arr.isNonEmptyReadonlyArray(claimed)) {
      if (permit !== undefined) yield* releaseResources(env, permit)
      return
    }
    for (const task of claimed) {
      env.state.inFlight.set(task.id, task.token)
      env.state.executorOf.set(task.id, executor)
    }
    Control.countRunning(env.state, claimed.map((t) => t.type), 1)
    countKeys(env.state, claimed, 1)
    lane.tasks += claimed.length
    lane.runs += 1
    yield* env.events.publish(claimed.map((t) => Control.changed(t, "running", now)))
    // Tracing: a dispatch span per task, whose traceparent the executor receives.
    const traced = env.telemetry.tracing ? yield* DispatchSpans.start(claimed) : undefined
    // The worker is taken here, in the dispatcher's fiber, so the next turn's `room` sees it.
    const batch = traced?.batch ?? claimed
    const running = yield* executor.start(batch, planned <= env.options.targetBatchMs && permit === undefined && !isolated)
    yield* FiberSet.run(env.state.batches, runBatch(env, running, lane, batch, now, permit, traced))
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.gen(function*() {
        env.state.recorder.storeError(yield* Clock.currentTimeMillis)
        yield* Effect.logError("dispatch failed; retrying after a pause", Cause.squash(cause))
        yield* Effect.sleep(Duration.millis(env.options.pollIntervalMs))
      })
    )
  )

/** Runs one batch and commits its outcomes; a store error leaves the leases to expire. */
const runBatch = (
  env: Env,
  running: Effect.Effect<Ran>,
  lane: Lane,
  batch: NonEmptyReadonlyArray<Claimed>,
  claimedAt: number,
  permit: Permit | undefined,
  traced: DispatchSpans.Traced | undefined
) => {
  let givenBack = false
  // The executor's room comes back as soon as it has answered, so the next batch is claimed
  // and sent while this one's outcomes commit: a thread idles for one claim, not a commit too.
  let laneHeld = true
  const freeLane = () => {
    if (!laneHeld) return false
    laneHeld = false
    lane.tasks -= batch.length
    lane.runs -= 1
    return true
  }
  return Effect.gen(function*() {
    const { busyMs, outcomes } = yield* running
    if (freeLane()) yield* Control.signal(env.state)
    if (traced !== undefined) yield* DispatchSpans.outcomes(traced, outcomes)
    const now = yield* Clock.currentTimeMillis
    const perTask = busyMs / batch.length
    for (const type of new Set(batch.map((t) => t.type))) {
      const avg = env.state.typeMs.get(type)
      env.state.typeMs.set(type, avg === undefined ? perTask : avg * 0.8 + perTask * 0.2)
    }
    // Tasks given back (crash isolation, abandoned attempts) are pending again but still on the
    // books until the batch ends: a refill in between skips them, so look again afterwards.
    givenBack = yield* finish(env, batch, outcomes, now, claimedAt, traced)
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Effect.gen(function*() {
        env.state.recorder.storeError(yield* Clock.currentTimeMillis)
        yield* Effect.logError("batch could not be committed", Cause.squash(cause))
        // The spans of tasks not committed end with the error, not as OK below.
        if (traced !== undefined) yield* DispatchSpans.endAll(traced, Exit.failCause(cause))
      })
    ),
    Effect.onExit((exit) =>
      Effect.suspend(() => {
        freeLane()
        Control.countRunning(env.state, batch.map((t) => t.type), -1)
        countKeys(env.state, batch, -1)
        Control.unpark(env)
        if (givenBack) env.state.mailbox.exhaustive = false
        // An interrupted batch (shutdown) stays in flight so releaseAll gives it back.
        if (!(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause))) {
          for (const task of batch) {
            env.state.inFlight.delete(task.id)
            env.state.executorOf.delete(task.id)
          }
        }
        return Effect.all([
          traced === undefined ? Effect.void : DispatchSpans.endAll(traced, exit),
          afterAttempts(env, batch),
          permit !== undefined ? releaseResources(env, permit) : Control.signal(env.state)
        ], { discard: true })
      })
    )
  )
}

const countKeys = (state: State, tasks: ReadonlyArray<Claimed>, delta: number) => {
  for (const task of tasks) {
    if (task.key === null) continue
    const n = (state.keyRunning.get(task.key) ?? 0) + delta
    if (n <= 0) state.keyRunning.delete(task.key)
    else state.keyRunning.set(task.key, n)
  }
}

/**
 * Once a batch's attempts have stopped: the `cancelled` events held back for tasks cancelled
 * while they ran (their log lines are in by now), and the next task of each actor key.
 */
const afterAttempts = (env: Env, batch: ReadonlyArray<Claimed>) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const cancelled = batch.filter((t) => env.state.cancelling.delete(t.id))
    if (cancelled.length > 0) yield* env.events.publish(cancelled.map((t) => Control.changed(t, "cancelled", now)))
    const keys = [...new Set(batch.flatMap((t) => (t.key === null ? [] : [t.key])))]
    if (keys.length > 0) yield* Control.applyChanges(env, [], now, keys)
  }).pipe(Effect.catchAllCause((cause) => Effect.logError("could not schedule after a batch", Cause.squash(cause))))

/** Gives a permit back; the tasks that waited for resources try again, best first. */
const releaseResources = (env: Env, permit: Permit) =>
  Effect.zipRight(
    permit.release,
    Effect.suspend(() => {
      const waiting = env.state.waitingForResources.splice(0)
      env.state.reserved = undefined
      for (const ref of waiting) Control.offer(env.state, ref)
      if (waiting.length > 0) env.state.mailbox.exhaustive = false
      return Control.signal(env.state)
    })
  )

/**
 * A thread that dies takes every attempt of its batch with it, and nothing says which task
 * killed it. So the attempts of a crashed batch of several are given back uncounted and each
 * runs again alone (a thread runs one request at a time): only the culprit crashes again, and
 * only its attempt fails.
 */
const isolateCrash = (env: Env, batch: ReadonlyArray<Claimed>, outcomes: ReadonlyArray<Outcome>, now: number) =>
  Effect.gen(function*() {
    const released = yield* env.store.release(batch.map((t) => ({ id: t.id, token: t.token, countAttempt: false })), now)
    for (const id of released) env.state.isolate.add(id)
    const crash = outcomes[0]
    yield* Effect.logWarning(
      `a worker thread died holding ${batch.length} attempts; running them one at a time to find the culprit` +
        (crash?._tag === "Failed" ? ` (${crash.error.message})` : "")
    )
    env.state.mailbox.exhaustive = false
    yield* env.events.publish(batch.filter((t) => released.includes(t.id)).map((t) => Control.changed(t, "pending", now)))
    return true
  })

const crashed = (outcomes: ReadonlyArray<Outcome>) =>
  outcomes.length > 0 &&
  outcomes.every((o) => o._tag === "Failed" && (o.error._tag === "WorkerCrashed" || o.error._tag === "WorkerOutOfMemory"))

/** Commits a batch's outcomes (group-committed by the store) and publishes what changed. */
const finish = (
  env: Env,
  batch: ReadonlyArray<Claimed>,
  outcomes: ReadonlyArray<Outcome>,
  now: number,
  claimedAt: number,
  traced: DispatchSpans.Traced | undefined
) =>
  Effect.gen(function*() {
    if (batch.length > 1 && crashed(outcomes)) return yield* isolateCrash(env, batch, outcomes, now)
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
      env.store.complete(completions, now),
      env.store.fail(failures, now),
      env.store.release(abandoned.map((t) => ({ id: t.id, token: t.token, countAttempt: false })), now)
    ], { concurrency: "unbounded" })
    const published: Array<StatusChanged> = []
    const metrics = env.telemetry.metrics
    const sample = (task: Claimed, status: "completed" | "retrying" | "failed") => {
      const runMs = now - claimedAt
      const waitMs = Math.max(0, claimedAt - task.runAt)
      env.state.recorder.record({ at: now, runMs, waitMs, ok: status === "completed" })
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
    if (released.length > 0) env.state.mailbox.exhaustive = false
    const stale = batch.length - completed.ids.length - failed.ids.length - released.length
    if (stale > 0) yield* Effect.logDebug(`${stale} attempt(s) ended after their task moved on (cancelled or lease lost); outcome ignored`)
    // The dispatch spans end once their outcome is durable, before anyone hears of it.
    if (traced !== undefined) yield* DispatchSpans.committed(traced, published)
    yield* env.events.publish(published)
    // Keyed tasks of this batch: their keys' next tasks are offered once the batch ends.
    const cascade: ReadonlyArray<Change> = [...completed.changes, ...failed.changes]
    if (cascade.length > 0) yield* Control.applyChanges(env, cascade, now)
    if (retrying) yield* Queue.offer(env.state.timerWake, undefined)
    return released.length > 0
  })
