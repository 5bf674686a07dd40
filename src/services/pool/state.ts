import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as Duration from "effect/Duration"
import type { FinishedSpan } from "../../domain/Trace.js"
import type { ActivitySink } from "./Executor.js"
import * as Slot from "./slot.js"

/** The pool's settings, resolved from its Options. */
export interface Settings {
  /** Compiled handlers module(s) every thread loads. */
  readonly modules: ReadonlyArray<string>
  readonly entry: string | URL
  readonly heapLimitMb: number
  readonly startTimeout: Duration.Duration
  readonly min: number
  readonly max: number
  readonly graceMs: number
  readonly recycleAfter: number
  readonly softLimitBytes: number
  readonly staleAfterMs: number
  readonly queueBehindMs: number
  readonly tracing: boolean
  readonly onActivity: ActivitySink | undefined
  readonly onSpans: ((spans: ReadonlyArray<FinishedSpan>) => void) | undefined
}

/**
 * The pool's state: its slots and counters. The pool's fibers share it (they run on one
 * JavaScript thread; every change is a synchronous step with no yield in between), and the
 * slots' lifecycle changes only through slot.ts's transitions.
 */
export interface Pool {
  readonly settings: Settings
  readonly slots: ReadonlyArray<Slot.Slot>
  /** The pool's scope: each thread's scope is forked from it. */
  readonly scope: Scope.Scope
  /** Background work (restarts, kills, cancels) interrupted when the pool closes. */
  readonly background: FiberSet.FiberSet
  /** Live threads, for `whenFull`. */
  readonly liveCount: SubscriptionRef.SubscriptionRef<number>
  /** Threads to keep (between min and max); slots at or above it are retired. */
  target: number
  replaced: number
  recycled: number
  batchSeq: number
  /** Resolved when room may have opened (a thread started, a request ended). */
  roomOpened: Deferred.Deferred<void>
}

export const make = (settings: Settings, scope: Scope.Scope, background: FiberSet.FiberSet, now: number) =>
  Effect.map(SubscriptionRef.make(0), (liveCount): Pool => ({
    settings,
    slots: Array.from({ length: settings.max }, (_, index) => Slot.make(index, now)),
    scope,
    background,
    liveCount,
    target: settings.max,
    replaced: 0,
    recycled: 0,
    batchSeq: 0,
    roomOpened: Deferred.unsafeMake<void>(FiberId.none)
  }))

/** Threads that count toward the pool's size. */
export const live = (pool: Pool): number => pool.slots.filter(Slot.counts).length

export const refreshLive = (pool: Pool) => Effect.suspend(() => SubscriptionRef.set(pool.liveCount, live(pool)))

/** Room may have opened: every waiter hears it. */
export const signalRoom = (pool: Pool) =>
  Effect.sync(() => {
    const opened = pool.roomOpened
    pool.roomOpened = Deferred.unsafeMake<void>(FiberId.none)
    Deferred.unsafeDone(opened, Exit.void)
  })

export const awaitRoom = (pool: Pool) => Effect.suspend(() => Deferred.await(pool.roomOpened))

/** Thread-facing times are wall-clock epoch ms: threads write Date.now() into shared memory. */
export const wallClock = () => Date.now()
