import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type { ReadyRef } from "../domain/Task.js"
import type { TaskId } from "../domain/TaskId.js"
import { Executors } from "./Executors.js"
import { Mailbox } from "./scheduler/Mailbox.js"
import * as Dispatch from "./scheduler/Dispatch.js"
import { TaskEvents } from "./TaskEvents.js"
import { TaskStore } from "./TaskStore.js"

export interface Options {
  /** Who holds the leases this scheduler takes (one per process). */
  readonly owner: string
  /** How long a claim holds a task without a heartbeat. */
  readonly leaseDurationMs: number
  /** Aging: time per priority point (see domain/Rank.ts). */
  readonly agingStepMs: number
  /** Size of the in-memory ready mailbox. */
  readonly mailboxCapacity: number
  /** How often to look for work other processes made ready, and for expired leases. */
  readonly pollIntervalMs: number
  /** Aim for batches that take about this long, so long tasks go one at a time. */
  readonly targetBatchMs: number
}

/**
 * Owns the run loop: a dispatcher that takes ready tasks from the mailbox whenever an
 * executor has room, claims them and runs them; a timer that wakes delayed and retrying
 * tasks at their run-at; a lease heartbeat; and the recovery of expired leases (at start-up
 * and periodically). All fibers live in the layer's scope.
 */
export class Scheduler extends Context.Tag("troupe/Scheduler")<Scheduler, {
  /** Tells the scheduler that these tasks just became ready (in-process submit). */
  readonly notifyReady: (refs: ReadonlyArray<ReadyRef>) => Effect.Effect<void>
  /** Tells the scheduler that a delayed task was stored (re-arm the timer). */
  readonly notifyDelayed: Effect.Effect<void>
  /** Tasks claimed by this process and not yet finished. */
  readonly inFlight: Effect.Effect<number>
}>() {}

export const make = (options: Options) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const events = yield* TaskEvents
    const executors = yield* Executors
    const mailbox = new Mailbox(options.mailboxCapacity)
    const wake = yield* Queue.sliding<void>(1)
    const timerWake = yield* Queue.sliding<void>(1)
    const inFlight = new Map<TaskId, string>()
    // Finalizers run in reverse: batches are interrupted first, then their attempts released.
    yield* Effect.addFinalizer(() => Dispatch.releaseAll(store, inFlight))
    const batches = yield* FiberSet.make()
    const state = Dispatch.makeState(mailbox, wake, timerWake, batches, inFlight)
    const env: Dispatch.Env = { store, events, executors, options, state }

    // Recover what a dead process left running before dispatching anything.
    yield* Dispatch.recover(env)

    yield* Effect.forkScoped(Effect.forever(Dispatch.step(env)))
    yield* Effect.forkScoped(Dispatch.timerLoop(env))
    yield* Effect.forkScoped(Dispatch.heartbeatLoop(env))
    yield* Effect.forkScoped(Dispatch.recoveryLoop(env))

    return Scheduler.of({
      notifyReady: (refs) =>
        Effect.suspend(() => {
          for (const ref of refs) mailbox.offer(ref)
          return Queue.offer(wake, undefined)
        }),
      notifyDelayed: Queue.offer(timerWake, undefined),
      inFlight: Effect.sync(() => state.inFlight.size)
    })
  }).pipe(Effect.annotateLogs({ service: "Scheduler" }))

export const layer = (options: Options) => Layer.scoped(Scheduler, make(options))
