import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { ReadyRef } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as RateLimit from "../../domain/RateLimit.js"
import * as Resources from "../../domain/Resources.js"
import type { Executor, Reservation } from "../pool/Executor.js"
import type { Permit } from "../resources/ResourceGovernor.js"
import * as Batch from "./Batch.js"
import { Command } from "./Command.js"
import type { Sent, Settled } from "./Command.js"
import * as Control from "./Control.js"
import * as DispatchSpans from "./DispatchSpans.js"
import * as Durably from "./durably.js"
import * as Plan from "./Plan.js"
import type { Env } from "./State.js"

// The dispatcher's interpreter: Plan decides, this performs — reads the store, reserves room
// on a worker, asks the governor for a permit, claims, publishes and starts the batch fiber.

/**
 * One turn of the dispatcher (its own fiber only): what Plan.next decides, performed. True
 * when it did something and another turn may do more; false when it must wait for a command
 * (nothing ready, no room, paused, stopping).
 */
export const step = (env: Env): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const { state } = env
    const admitting = yield* env.governor.admitting
    let refilled = false
    for (;;) {
      const next = Plan.next(state, env.options, env.world, admitting, refilled)
      switch (next._tag) {
        case "Wait":
          return false
        case "Parked":
          return true
        case "WatchAdmission":
          yield* Effect.forkIn(Effect.zipRight(env.governor.awaitAdmitting, Control.send(state, Command.Admitting())), env.scope)
          return false
        case "Refill":
          Plan.refilled(state, env.options, yield* env.store.ready(env.options.mailboxCapacity, next.excluded, next.excludedBuckets))
          refilled = true
          continue
        case "Reserve":
          return yield* reserve(env, next.executor, next.top, next.short)
      }
    }
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

/**
 * Room on a worker is reserved before anything is claimed, so a claimed task never waits for
 * one: an idle worker, or for a short batch a place behind a short one. None: a fiber watches
 * for room (once per executor) and the dispatcher waits.
 */
const reserve = (env: Env, executor: Executor, top: ReadyRef, short: boolean) =>
  Effect.gen(function*() {
    const reservation = Option.getOrUndefined(yield* executor.reserve(false)) ??
      (short ? Option.getOrUndefined(yield* executor.reserve(true)) : undefined)
    if (reservation === undefined) {
      if (Plan.watchRoom(env.state, executor)) {
        yield* Effect.forkIn(Effect.zipRight(executor.roomChanged, Control.send(env.state, Command.RoomOpened({ executor }))), env.scope)
      }
      return false
    }
    // Given back if the claim fails or comes back empty; once a batch fiber holds it, that fiber
    // does (an interruption just after the hand-off must not give it back under the batch).
    const handed = { toBatch: false }
    return yield* admit(env, executor, top, reservation, handed).pipe(Effect.onError(() => (handed.toBatch ? Effect.void : reservation.cancel)))
  })

/** With room reserved: a permit for a task that declares resources, then the batch is claimed. */
const admit = (env: Env, executor: Executor, top: ReadyRef, reservation: Reservation, handed: { toBatch: boolean }) =>
  Effect.gen(function*() {
    if (top.resources === null) return yield* claim(env, executor, reservation, undefined, handed)
    const held = yield* env.governor.tryAcquire(top.resources, Plan.heldBack(env.state, top) ?? Resources.zero)
    if (Option.isNone(held)) {
      Plan.waitForResources(env.state, top)
      yield* reservation.cancel
      return true
    }
    Plan.permitted(env.state, top)
    const permit = held.value
    return yield* claim(env, executor, reservation, permit, handed).pipe(Effect.onError(() => (handed.toBatch ? Effect.void : permit.release)))
  })

/** Takes the batch Plan chooses, claims it, and starts it in the reserved room. */
const claim = (env: Env, executor: Executor, reservation: Reservation, permit: Permit | undefined, handed: { toBatch: boolean }) =>
  Effect.gen(function*() {
    const { state } = env
    const taken = Plan.take(state, env.options, env.world, executor, env.options.owner, permit !== undefined)
    const now = yield* Clock.currentTimeMillis
    const claimed = yield* env.store.claim(taken.ids, {
      owner: env.options.owner,
      token: taken.token,
      expiresAt: now + env.options.leaseDurationMs,
      now,
      limits: taken.limits,
      rates: taken.rates
    }).pipe(
      Effect.tapError(() => giveBack(env, taken.ids, taken.token)),
      Effect.ensuring(Effect.sync(() => Plan.claimEnded(state, taken.ids)))
    )
    const short = Plan.shortBuckets(taken, claimed)
    if (short.length > 0) yield* holdRates(env, short, now)
    Plan.claimedOfLimits(state, taken, claimed)
    if (!Arr.isNonEmptyReadonlyArray(claimed)) {
      if (permit !== undefined) yield* releaseResources(env, permit)
      yield* reservation.cancel
      return true
    }
    Plan.claimed(state, executor, claimed)
    yield* env.events.publish(claimed.map((t) => Control.changed(t, "running", now)))
    // Tracing: a dispatch span per task, whose traceparent the executor receives.
    const traced = env.telemetry.tracing ? yield* DispatchSpans.start(claimed) : undefined
    const batch = traced?.batch ?? claimed
    const running = reservation.run(batch, taken.short)
    // Forked uninterruptible, so the batch's exit handler is in place before an interruption
    // (shutdown) can reach it: a batch stopped before it starts still gives its room back.
    yield* Effect.uninterruptible(
      Effect.tap(
        FiberSet.run(state.batches, Batch.run(env, { executor, tasks: batch, permit }, running, reservation.cancel, now, traced)),
        () => Effect.sync(() => (handed.toBatch = true))
      )
    )
    return true
  })

/**
 * Buckets a claim came back short of: those whose allowance the store says is spent are held
 * back until it reopens, when a timer (on the Clock: TestClock moves it in tests) tells the
 * dispatcher. Short for another reason (a task cancelled meanwhile, a gate held by another
 * node): nothing to hold.
 */
const holdRates = (env: Env, short: ReadonlyArray<string>, now: number) =>
  Effect.gen(function*() {
    for (const bucket of yield* env.store.rateBuckets({ buckets: short })) {
      const until = RateLimit.opensAt(bucket.limit, bucket.starts, now)
      if (until <= now || !Plan.rateHeld(env.state, bucket.bucket, until)) continue
      yield* Effect.forkIn(
        Effect.zipRight(Effect.sleep(Duration.millis(until - now)), Control.send(env.state, Command.RateOpened({ bucket: bucket.bucket }))),
        env.scope
      )
    }
  }).pipe(
    // The claim has committed: its tasks must still reach their batch. Unread, nothing is held
    // (the next claim of those buckets comes back short and reads again).
    Effect.catchAllCause((cause) => Effect.logWarning("could not read rate-limit buckets after a claim", Cause.squash(cause)))
  )

/**
 * A claim that failed may still have committed (its answer lost with the connection): its rows
 * would stay `running` under this process's lease, run by no one, until the lease ran out. They
 * are given back — by the claim's token, so only what this claim took — once the store answers
 * again, in a fiber of their own (the dispatcher goes on), and the dispatcher looks again.
 */
const giveBack = (env: Env, ids: ReadonlyArray<TaskId>, token: string) =>
  Effect.forkIn(
    Effect.gen(function*() {
      const released = yield* Durably.durably(
        "give back a claim whose answer was lost",
        env.options.leaseDurationMs,
        Effect.flatMap(Clock.currentTimeMillis, (now) => env.store.release(ids.map((id) => ({ id, token, countAttempt: false })), now))
      )
      if (released.length > 0) yield* Effect.logInfo(`gave back ${released.length} task(s) of a claim whose answer was lost`)
      yield* Control.wake(env.state, true)
    }).pipe(Effect.catchAllCause((cause) => Effect.logError("could not give back a claim whose answer was lost", Cause.squash(cause)))),
    env.scope
  )

/** Gives a permit back; the tasks that waited for resources try again, best first. */
const releaseResources = (env: Env, permit: Permit) =>
  Effect.zipRight(permit.release, Effect.sync(() => Plan.resourcesReleased(env.state)))

/**
 * The batch's attempts have stopped: Plan takes them off the books; then the permit is given
 * back, held-back `cancelled` events go out, and each actor key's next task is scheduled.
 */
export const ended = (env: Env, sent: Sent, settled: Settled | undefined, interrupted: boolean) =>
  Effect.gen(function*() {
    const { state } = env
    const after = Plan.ended(state, env.options, sent.tasks, settled, interrupted)
    const now = yield* Clock.currentTimeMillis
    // Not settled and not interrupted: its outcomes could not be committed (leases will lapse).
    if (settled === undefined && !interrupted) state.recorder.storeError(now)
    if (settled !== undefined) {
      for (const sample of settled.samples) state.recorder.record(sample)
      if (settled.retrying) yield* Queue.offer(state.timerWake, undefined)
    }
    if (sent.permit !== undefined) yield* releaseResources(env, sent.permit)
    if (after.cancelled.length > 0) yield* env.events.publish(after.cancelled.map((t) => Control.changed(t, "cancelled", now)))
    const cascade = settled?.cascade ?? []
    if (cascade.length > 0 || after.keys.length > 0) yield* Control.applyChanges(env, cascade, now, after.keys)
  }).pipe(Effect.catchAllCause((cause) => Effect.logError("could not schedule after a batch", Cause.squash(cause))))
