import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { Claimed, ReadyRef } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as Resources from "../../domain/Resources.js"
import type { Executor, Reservation } from "../pool/Executor.js"
import type { Permit } from "../resources/ResourceGovernor.js"
import * as Control from "./Control.js"
import * as DispatchSpans from "./DispatchSpans.js"
import * as Batch from "./Batch.js"
import { Command } from "./Command.js"
import type { Lane, Sent, Settled } from "./Command.js"
import type { Env, State } from "./State.js"

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

/**
 * One turn of the dispatcher (its own fiber only): refill, take a batch for one executor,
 * claim it, send it. True when it did something and another turn may do more; false when it
 * must wait for a command (nothing ready, no room, paused, stopping).
 */
export const step = (env: Env): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const { mailbox } = env.state
    if (env.state.queuePaused || env.state.stopping) return false
    // Memory pressure closed admission: nothing starts until it reopens (a fiber waits for it).
    if (!(yield* env.governor.admitting)) {
      if (!env.state.watchingAdmission) {
        env.state.watchingAdmission = true
        yield* Effect.forkIn(Effect.zipRight(env.governor.awaitAdmitting, Control.send(env.state, Command.Admitting())), env.scope)
      }
      return false
    }
    // Refill when low, or when the store changed behind the mailbox's back (it may hold
    // better tasks than any here).
    if (!mailbox.exhaustive && (mailbox.size < env.options.mailboxCapacity / 2 || mailbox.stale)) {
      yield* refill(env)
      // Everything ready is set aside (waiting for resources): wait for a change.
      if (mailbox.size === 0) return false
    }
    const top = mailbox.peek()
    if (top === undefined) return false
    // A type that is paused or at its limit does not hold up the others: set its task aside.
    if (Control.isBlocked(env, top.type)) {
      mailbox.take()
      Control.park(env.state, top)
      return true
    }
    const executor = env.executors.forType(top.type)
    const lane = laneOf(env.state, executor)
    const [capacity, slots] = yield* Effect.zip(executor.capacity, executor.slots)
    const free = capacity - lane.tasks
    if (free <= 0 || lane.runs >= slots) return false
    // With work in flight and a deep queue, wait until a worthwhile batch fits: many tiny
    // batches cost a claim and a commit each.
    const worthwhile = Math.min(executor.maxBatch, Math.ceil(capacity / 2))
    if (lane.tasks > 0 && free < worthwhile && (!mailbox.exhaustive || mailbox.size >= worthwhile)) return false

    // Room on a worker is reserved before anything is claimed, so a claimed task never waits
    // for one. With no idle worker only a short batch may start, queued behind a short one
    // (pipelining bounded by targetBatch); the best task waits rather than be passed.
    let reservation = Option.getOrUndefined(yield* executor.reserve(false))
    if (reservation === undefined) {
      const estimate = env.state.typeMs.get(top.type)
      const short = estimate !== undefined && estimate <= env.options.targetBatchMs && top.resources === null &&
        !env.state.isolate.has(top.id)
      if (short) reservation = Option.getOrUndefined(yield* executor.reserve(true))
      if (reservation === undefined) {
        yield* watchRoom(env, executor)
        return false
      }
    }
    const reserved = reservation
    return yield* dispatchOn(env, executor, lane, top, reserved, free, slots).pipe(
      Effect.onError(() => reserved.cancel)
    )
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.gen(function*() {
        env.state.recorder.storeError(yield* Clock.currentTimeMillis)
        yield* Effect.logError("dispatch failed; retrying after a pause", Cause.squash(cause))
        yield* Effect.sleep(Duration.millis(env.options.pollIntervalMs))
        return true
      })
    )
  )

/** Once, per executor: a fiber waits for room to open and tells the dispatcher. */
const watchRoom = (env: Env, executor: Executor) =>
  Effect.suspend(() => {
    if (env.state.watchingRoom.has(executor)) return Effect.void
    env.state.watchingRoom.add(executor)
    return Effect.asVoid(Effect.forkIn(Effect.zipRight(executor.roomChanged, Control.send(env.state, Command.RoomOpened({ executor }))), env.scope))
  })

/** With room reserved on `executor`: takes a batch from the mailbox, claims it and sends it. */
const dispatchOn = (
  env: Env,
  executor: Executor,
  lane: Lane,
  top: ReadyRef,
  reservation: Reservation,
  free: number,
  slots: number
) =>
  Effect.gen(function*() {
    const { mailbox } = env.state

    // A task that declares resources runs alone, under a permit; one that does not fit waits
    // aside, and the best such task holds a reservation (see ResourceGovernor).
    let permit: Permit | undefined
    if (top.resources !== null) {
      const reserved = env.state.reserved
      const held = yield* env.governor.tryAcquire(
        top.resources,
        reserved !== undefined && reserved.id !== top.id && reserved.resources !== null ? reserved.resources : Resources.zero
      )
      if (Option.isNone(held)) {
        mailbox.take()
        env.state.waitingForResources.push(top)
        if (env.state.reserved === undefined) env.state.reserved = top
        yield* reservation.cancel
        return true
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
      if (ids.length > 0 && next.resources !== null) break
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
      yield* reservation.cancel
      return true
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
    const batch = traced?.batch ?? claimed
    const running = reservation.run(batch, planned <= env.options.targetBatchMs && permit === undefined && !isolated)
    yield* FiberSet.run(env.state.batches, Batch.run(env, { executor, lane, tasks: batch, permit }, running, now, traced))
    return true
  })


const countKeys = (state: State, tasks: ReadonlyArray<Claimed>, delta: number) => {
  for (const task of tasks) {
    if (task.key === null) continue
    const n = (state.keyRunning.get(task.key) ?? 0) + delta
    if (n <= 0) state.keyRunning.delete(task.key)
    else state.keyRunning.set(task.key, n)
  }
}

/** Gives a permit back; the tasks that waited for resources try again, best first. */
export const releaseResources = (env: Env, permit: Permit) =>
  Effect.zipRight(
    permit.release,
    Effect.sync(() => {
      const waiting = env.state.waitingForResources.splice(0)
      env.state.reserved = undefined
      for (const ref of waiting) Control.offer(env.state, ref)
      if (waiting.length > 0) env.state.mailbox.markStale()
    })
  )

/** The executor answered: its room is back (the outcomes commit meanwhile). */
export const answered = (sent: Sent) => {
  sent.lane.tasks -= sent.tasks.length
  sent.lane.runs -= 1
}

/**
 * The batch's attempts have stopped: they leave the books; what they settled updates the
 * books; held-back `cancelled` events go out, and each actor key's next task is scheduled.
 */
export const ended = (env: Env, sent: Sent, settled: Settled | undefined, interrupted: boolean) =>
  Effect.gen(function*() {
    const { state } = env
    const batch = sent.tasks
    Control.countRunning(state, batch.map((t) => t.type), -1)
    countKeys(state, batch, -1)
    // An interrupted batch (shutdown) stays in flight so releaseAll gives it back.
    if (!interrupted) {
      for (const task of batch) {
        state.inFlight.delete(task.id)
        state.executorOf.delete(task.id)
      }
    }
    const now = yield* Clock.currentTimeMillis
    // Not settled and not interrupted: its outcomes could not be committed (leases will lapse).
    if (settled === undefined && !interrupted) state.recorder.storeError(now)
    if (settled !== undefined) {
      const perTask = settled.busyMsPerTask
      if (perTask !== undefined) {
        for (const type of new Set(batch.map((t) => t.type))) {
          const avg = state.typeMs.get(type)
          state.typeMs.set(type, avg === undefined ? perTask : avg * 0.8 + perTask * 0.2)
        }
      }
      for (const sample of settled.samples) state.recorder.record(sample)
      for (const id of settled.isolate) state.isolate.add(id)
      if (settled.givenBack) state.mailbox.markStale()
      if (settled.retrying) yield* Queue.offer(state.timerWake, undefined)
    }
    Control.unpark(env)
    if (sent.permit !== undefined) yield* releaseResources(env, sent.permit)
    const cancelled = batch.filter((t) => state.cancelling.delete(t.id))
    if (cancelled.length > 0) yield* env.events.publish(cancelled.map((t) => Control.changed(t, "cancelled", now)))
    const keys = [...new Set(batch.flatMap((t) => (t.key === null ? [] : [t.key])))]
    const cascade = settled?.cascade ?? []
    if (cascade.length > 0 || keys.length > 0) yield* Control.applyChanges(env, cascade, now, keys)
  }).pipe(Effect.catchAllCause((cause) => Effect.logError("could not schedule after a batch", Cause.squash(cause))))
