import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Deferred from "effect/Deferred"
import * as Scope from "effect/Scope"
import * as ThreadState from "../../workers/ThreadState.js"
import * as Placement from "./placement.js"
import * as Slot from "./slot.js"
import { realTime, spawn } from "./spawn.js"
import type { WorkerPoolError } from "./spawn.js"
import * as State from "./state.js"
import type { Pool } from "./state.js"
import * as Watchdog from "./watchdog.js"
import type { Ran } from "./Executor.js"

// The pool's supervision: it starts threads (retrying a failed start), replaces a thread that
// died or was killed, renews one due for recycling, stops one being retired, and runs the two
// real-time loops — the watchdog (timeouts, cancels) and the give-way check (a batch waiting
// behind a task that overran). Every lifecycle change goes through slot.ts's transitions.

/** Closes a thread's scope in the background (the thread stops). */
const close = (pool: Pool, thread: Slot.Thread | undefined) =>
  thread === undefined ? Effect.void : FiberSet.run(pool.background, Scope.close(thread.scope, Exit.void)).pipe(Effect.asVoid)

/** Starts a thread in a `Starting` slot; the slot serves once it has started. */
export const start = (pool: Pool, slot: Slot.Slot): Effect.Effect<void, WorkerPoolError> =>
  Effect.gen(function*() {
    const thread = yield* spawn(pool, slot.index)
    Slot.started(slot, thread, slot.index >= pool.target, State.wallClock())
    yield* State.refreshLive(pool)
    yield* State.signalRoom(pool)
    // Retired while it started: it stops at once.
    yield* retire(pool, slot)
  })

/**
 * Starts a thread in the slot, retrying every second after a failure (the slot says why
 * meanwhile), until one starts or the slot is no longer wanted (above the target).
 */
export const startUntilLive = (pool: Pool, slot: Slot.Slot, what: "start" | "replace"): Effect.Effect<void> =>
  start(pool, slot).pipe(
    Effect.catchAll((e) =>
      Effect.gen(function*() {
        Slot.startFailed(slot, e.message)
        yield* Effect.logError(`could not ${what} worker thread ${slot.index}: ${e.message}; retrying`)
        yield* realTime(Effect.sleep("1 second"))
        if (slot.index >= pool.target) {
          Slot.stop(slot, "Empty")
          return
        }
        yield* startUntilLive(pool, slot, what)
      })
    )
  )

/**
 * The slot's thread of this generation is gone (died, killed and drained, or due for renewal):
 * it is torn down and another starts in the slot — none above the target.
 */
export const replace = (pool: Pool, slot: Slot.Slot, generation: number, why: "crash" | "recycle" = "crash") =>
  Effect.suspend(() => {
    if (slot.generation !== generation || slot.phase._tag === "Starting" || slot.phase._tag === "Empty") return Effect.void
    const above = slot.index >= pool.target
    const old = Slot.stop(slot, above ? "Empty" : "Starting")
    if (why === "recycle") {
      slot.recycled++
      pool.recycled++
    } else {
      pool.replaced++
    }
    return Effect.all([
      State.refreshLive(pool),
      old === undefined ? Effect.void : Scope.close(old.scope, Exit.void),
      above ? Effect.void : FiberSet.run(pool.background, Effect.interruptible(startUntilLive(pool, slot, "replace")))
    ], { discard: true })
  })

/**
 * Replaces a thread the watchdog killed once no request waits on it any more (closing its
 * scope earlier would interrupt them instead of letting them see the thread's exit).
 */
export const replaceIfDrained = (pool: Pool, slot: Slot.Slot, generation: number) =>
  Effect.suspend(() =>
    slot.generation === generation && Slot.killed(slot) && Slot.inflightOf(slot, generation) === 0
      ? replace(pool, slot, generation)
      : Effect.void
  )

/** Stops a retiring slot's thread once nothing runs on it (a clean shutdown). */
export const retire = (pool: Pool, slot: Slot.Slot): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (slot.phase._tag !== "Draining" || slot.phase.reason !== "retiring" || slot.requests > 0) return Effect.void
    const old = Slot.stop(slot, "Empty")
    return Effect.zipRight(State.refreshLive(pool), close(pool, old))
  })

/** Counts a batch's attempts on the slot; a thread past N tasks or its soft heap limit is due for renewal. */
export const tally = (pool: Pool, slot: Slot.Slot, ran: Ran): void => {
  slot.tasksDone += ran.outcomes.length
  slot.tasksThisThread += ran.outcomes.length
  for (const o of ran.outcomes) if (o._tag === "Failed") slot.failures++
  const thread = Slot.threadOf(slot)
  const heap = thread === undefined ? null : ThreadState.heapUsed(thread.state)
  const { recycleAfter, softLimitBytes } = pool.settings
  if ((recycleAfter > 0 && slot.tasksThisThread >= recycleAfter) || (softLimitBytes > 0 && heap !== null && heap > softLimitBytes)) {
    Slot.drain(slot, "recycling")
  }
}

/** A request on the slot ended: a draining thread with nothing left is stopped or renewed. */
export const requestEnded = (pool: Pool, slot: Slot.Slot) =>
  Effect.suspend(() => {
    slot.requests--
    if (slot.requests === 0) slot.long = false
    const phase = slot.phase
    const next = phase._tag === "Draining" && slot.requests === 0
      ? phase.reason === "retiring"
        ? retire(pool, slot)
        : phase.reason === "recycling"
        ? replace(pool, slot, slot.generation, "recycle")
        : Effect.void
      : Effect.void
    return Effect.zipRight(next, State.signalRoom(pool))
  })

/** Terminates a thread whose task does not yield; its requests resolve as the verdict says. */
const kill = (pool: Pool, slot: Slot.Slot, thread: Slot.Thread, verdict: Watchdog.Verdict) =>
  Effect.suspend(() => {
    const generation = slot.generation
    Slot.drain(slot, "killed")
    for (const entry of slot.inflight.values()) {
      if (entry.generation !== generation) continue
      entry.killed = entry === verdict.entry
        ? { _tag: "Culprit", index: verdict.index, outcome: verdict.outcome }
        : { _tag: "Bystander" }
    }
    return Effect.logWarning(
      `${verdict.reason} and did not yield within ${pool.settings.graceMs} ms: terminating worker thread ${slot.index}`
    ).pipe(
      Effect.zipRight(Effect.promise(() => thread.handle.terminate())),
      Effect.zipRight(replaceIfDrained(pool, slot, generation)),
      Effect.interruptible,
      FiberSet.run(pool.background)
    )
  })

/** The watchdog's round: a task past its timeout or cancel by more than the grace period loses its thread. */
const check = (pool: Pool) =>
  Effect.suspend(() => {
    const now = State.wallClock()
    const kills: Array<Effect.Effect<unknown>> = []
    for (const slot of pool.slots) {
      const thread = Slot.threadOf(slot)
      if (thread === undefined || Slot.killed(slot)) continue
      const verdict = Watchdog.judge(ThreadState.read(thread.state), slot.inflight, now, pool.settings.graceMs)
      if (verdict !== undefined) kills.push(kill(pool, slot, thread, verdict))
    }
    return Effect.all(kills, { discard: true })
  })

/**
 * Gives way: a batch waiting behind a task that has run longer than `queueBehindMs` is taken
 * back before the thread starts it (its attempts come back Abandoned and run again, in rank
 * order, wherever a thread frees first), and nothing more waits on that thread.
 */
const withdrawStuck = (pool: Pool) =>
  Effect.sync(() => {
    for (const { entry, slot, view } of Placement.stuck(pool.slots, State.wallClock(), pool.settings.queueBehindMs)) {
      if (ThreadState.withdraw(view, entry.batch)) {
        slot.long = true
        Deferred.unsafeDone(entry.withdrawn!, Exit.void)
      }
    }
  })

/** The watchdog and give-way loops, in the pool's scope. Threads are not under TestClock: real time. */
export const loops = (pool: Pool) =>
  Effect.all([
    check(pool).pipe(
      Effect.zipRight(realTime(Effect.sleep(Duration.millis(Math.max(10, pool.settings.graceMs / 4))))),
      Effect.forever,
      Effect.forkScoped
    ),
    // A waiting batch is taken back within a quarter of queueBehindMs.
    withdrawStuck(pool).pipe(
      Effect.zipRight(realTime(Effect.sleep(Duration.millis(Math.max(5, pool.settings.queueBehindMs / 4))))),
      Effect.forever,
      Effect.forkScoped
    )
  ], { discard: true })
