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
import type { Executor } from "../Executor.js"
import type { Executors } from "../Executors.js"
import type { Options } from "../Scheduler.js"
import type { StatusChanged, TaskEvents } from "../TaskEvents.js"
import type { Completion, Failure, TaskStore } from "../TaskStore.js"
import type { Mailbox } from "./Mailbox.js"
import * as RetryDecision from "./retryDecision.js"

/** Per-executor accounting: what is in flight and how long tasks take (for batch sizing). */
interface Lane {
  tasks: number
  runs: number
}

export interface State {
  readonly mailbox: Mailbox
  /** Wakes the dispatcher: something became ready or an executor has room. */
  readonly wake: Queue.Queue<void>
  /** Wakes the timer: a delayed or retrying task was stored. */
  readonly timerWake: Queue.Queue<void>
  /** Where batches run, so closing the scheduler interrupts them. */
  readonly batches: FiberSet.FiberSet
  /** Claimed by this process and not finished: id → lease token. */
  readonly inFlight: Map<TaskId, string>
  /** Taken from the mailbox, claim not yet committed. */
  readonly claiming: Set<TaskId>
  readonly lanes: Map<Executor, Lane>
  /** Moving average of executor busy time per task, by task type (unknown until timed). */
  readonly typeMs: Map<string, number>
  /** Tasks whose batch lost its thread: each runs alone next, so only the culprit fails. */
  readonly isolate: Set<TaskId>
  tokenCounter: number
}

export interface Env {
  readonly store: typeof TaskStore.Service
  readonly events: typeof TaskEvents.Service
  readonly executors: typeof Executors.Service
  readonly options: Options
  readonly state: State
}

export const makeState = (
  mailbox: Mailbox,
  wake: Queue.Queue<void>,
  timerWake: Queue.Queue<void>,
  batches: FiberSet.FiberSet,
  inFlight: Map<TaskId, string>
): State => ({
  mailbox,
  wake,
  timerWake,
  batches,
  inFlight,
  claiming: new Set(),
  lanes: new Map(),
  typeMs: new Map(),
  isolate: new Set(),
  tokenCounter: 0
})

const laneOf = (state: State, executor: Executor): Lane => {
  let lane = state.lanes.get(executor)
  if (lane === undefined) state.lanes.set(executor, lane = { tasks: 0, runs: 0 })
  return lane
}

const signal = (state: State) => Queue.offer(state.wake, undefined)

/** Reads the store's best page into the mailbox. */
const refill = (env: Env) =>
  Effect.flatMap(env.store.ready(env.options.mailboxCapacity), (page) =>
    Effect.sync(() => {
      const skip = new Set<TaskId>([...env.state.inFlight.keys(), ...env.state.claiming])
      env.state.mailbox.merge(page, skip, env.options.mailboxCapacity)
    }))

/**
 * Most tasks per request: one when the queue is shallow (latency), up to the executor's
 * maximum when it is deep (throughput). How long tasks take trims it further (`takeBatch`).
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
    if (!mailbox.exhaustive && mailbox.size < env.options.mailboxCapacity / 2) yield* refill(env)
    const top = mailbox.peek()
    if (top === undefined) return yield* Queue.take(env.state.wake)
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

    const n = batchSize(env, executor, free, slots)
    const ids: Array<TaskId> = []
    let exclusive = false
    // A batch runs its tasks one after another, so it holds about `targetBatchMs` of measured
    // work: a type not yet timed, or slower than that, runs alone (concurrently with others).
    let planned = 0
    while (ids.length < n) {
      const next = mailbox.peek()
      if (next === undefined || env.executors.forType(next.type) !== executor) break
      const alone = env.state.isolate.has(next.id)
      if (alone && ids.length > 0) break
      const estimate = env.state.typeMs.get(next.type)
      if (ids.length > 0 && (estimate === undefined || planned + estimate > env.options.targetBatchMs)) break
      planned += estimate ?? Number.POSITIVE_INFINITY
      mailbox.take()
      ids.push(next.id)
      env.state.claiming.add(next.id)
      if (alone) {
        env.state.isolate.delete(next.id)
        exclusive = true
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
    }).pipe(Effect.ensuring(Effect.sync(() => ids.forEach((id) => env.state.claiming.delete(id)))))
    if (!Arr.isNonEmptyReadonlyArray(claimed)) return
    for (const task of claimed) env.state.inFlight.set(task.id, task.token)
    lane.tasks += claimed.length
    lane.runs += 1
    yield* env.events.publish(claimed.map((t) => changed(t, "running", now)))
    yield* FiberSet.run(env.state.batches, runBatch(env, executor, lane, claimed, exclusive))
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.zipRight(
        Effect.logError("dispatch failed; retrying after a pause", Cause.squash(cause)),
        Effect.sleep(Duration.millis(env.options.pollIntervalMs))
      )
    )
  )

const changed = (task: { readonly id: TaskId; readonly type: string }, status: StatusChanged["status"], at: number): StatusChanged => ({
  _tag: "StatusChanged",
  id: task.id,
  type: task.type,
  status,
  at
})

/** Runs one batch and commits its outcomes; a store error leaves the leases to expire. */
const runBatch = (env: Env, executor: Executor, lane: Lane, batch: NonEmptyReadonlyArray<Claimed>, exclusive: boolean) =>
  Effect.gen(function*() {
    const { busyMs, outcomes } = yield* executor.run(batch, { exclusive })
    const now = yield* Clock.currentTimeMillis
    const perTask = busyMs / batch.length
    for (const type of new Set(batch.map((t) => t.type))) {
      const avg = env.state.typeMs.get(type)
      env.state.typeMs.set(type, avg === undefined ? perTask : avg * 0.8 + perTask * 0.2)
    }
    yield* finish(env, batch, outcomes, now, exclusive)
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("batch could not be committed", Cause.squash(cause))
    ),
    Effect.onExit((exit) =>
      Effect.suspend(() => {
        lane.tasks -= batch.length
        lane.runs -= 1
        // An interrupted batch (shutdown) stays in flight so releaseAll gives it back.
        if (!(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause))) {
          for (const task of batch) env.state.inFlight.delete(task.id)
        }
        return signal(env.state)
      })
    )
  )

/**
 * A thread that dies takes every attempt it held with it (its batch, and a request queued
 * behind it), and nothing says which task killed it. So the attempts of a crashed shared run
 * are given back uncounted and each runs again alone, on a thread with nothing else in flight:
 * only the culprit crashes again, and only its attempt fails.
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
    yield* env.events.publish(batch.filter((t) => released.includes(t.id)).map((t) => changed(t, "pending", now)))
  })

const crashed = (outcomes: ReadonlyArray<Outcome>) =>
  outcomes.length > 0 && outcomes.every((o) => o._tag === "Failed" && o.error._tag === "WorkerCrashed")

/** Commits a batch's outcomes (group-committed by the store) and publishes what changed. */
const finish = (env: Env, batch: ReadonlyArray<Claimed>, outcomes: ReadonlyArray<Outcome>, now: number, exclusive: boolean) =>
  Effect.gen(function*() {
    if (!exclusive && crashed(outcomes)) return yield* isolateCrash(env, batch, outcomes, now)
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
    const [completed, failed, released] = yield* Effect.all([
      completions.length > 0 ? env.store.complete(completions, now) : Effect.succeed([]),
      failures.length > 0 ? env.store.fail(failures, now) : Effect.succeed([]),
      env.store.release(abandoned.map((t) => ({ id: t.id, token: t.token, countAttempt: false })), now)
    ], { concurrency: "unbounded" })
    const failedSet = new Set(failed)
    const published: Array<StatusChanged> = completed.map((id) => changed(byId.get(id)!, "completed", now))
    let retrying = false
    for (const f of failures) {
      if (!failedSet.has(f.id)) continue
      retrying ||= f.next._tag === "Retry"
      published.push(changed(byId.get(f.id)!, f.next._tag === "Retry" ? "retrying" : "failed", now))
    }
    for (const id of released) published.push(changed(byId.get(id)!, "pending", now))
    if (released.length > 0) env.state.mailbox.exhaustive = false
    const stale = batch.length - completed.length - failed.length - released.length
    if (stale > 0) yield* Effect.logWarning(`${stale} attempt(s) finished after losing their lease; outcome ignored`)
    yield* env.events.publish(published)
    if (retrying) yield* Queue.offer(env.state.timerWake, undefined)
  })

/** Wakes delayed and retrying tasks at their run-at, via Clock. */
export const timerLoop = (env: Env) =>
  Effect.gen(function*() {
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const next = yield* env.store.nextWakeAt
      if (Option.isSome(next) && next.value <= now) {
        const woken = yield* env.store.wakeDue(now)
        if (woken > 0) {
          env.state.mailbox.exhaustive = false
          yield* signal(env.state)
        }
        continue
      }
      const wait = Option.match(next, {
        onNone: () => env.options.pollIntervalMs,
        onSome: (at) => Math.min(at - now, env.options.pollIntervalMs)
      })
      yield* Effect.race(Effect.sleep(Duration.millis(wait)), Queue.take(env.state.timerWake))
      // Another process may have made work ready: look at the store on the next turn.
      env.state.mailbox.exhaustive = false
      yield* signal(env.state)
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
    const items = [...env.state.inFlight].map(([id, token]) => ({ id, token }))
    yield* env.store.extendLeases(items, now + env.options.leaseDurationMs)
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logError("lease heartbeat failed", Cause.squash(cause))),
    Effect.forever
  )

/** Running tasks whose lease expired (their process died) become pending again. */
export const recover = (env: Env) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const recovered = yield* env.store.recoverExpired(now)
    if (recovered.length > 0) {
      yield* Effect.logWarning(`recovered ${recovered.length} task(s) whose lease expired`)
      env.state.mailbox.exhaustive = false
      yield* signal(env.state)
    }
  })

export const recoveryLoop = (env: Env) =>
  Effect.sleep(Duration.millis(env.options.leaseDurationMs)).pipe(
    Effect.zipRight(recover(env)),
    Effect.catchAllCause((cause) => Effect.logError("lease recovery failed", Cause.squash(cause))),
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
