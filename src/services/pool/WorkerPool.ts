import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import type { TaskId } from "../../domain/TaskId.js"
import type { FinishedSpan } from "../../domain/Trace.js"
import * as Protocol from "../../workers/Protocol.js"
import * as HandlersModules from "../../workers/HandlersModules.js"
import type { ActivitySink, Executor, Reservation } from "./Executor.js"
import * as Placement from "./placement.js"
import * as Request from "./request.js"
import * as Resize from "./resize.js"
import * as Slot from "./slot.js"
import { WorkerPoolError } from "./spawn.js"
import * as State from "./state.js"
import type { Pool } from "./state.js"
import * as Supervise from "./supervise.js"

export interface Options {
  /** Path(s) or file URL(s) of the compiled handlers module(s) every thread loads. */
  readonly handlersModule: string | ReadonlyArray<string>
  /** Threads: a number, "auto" (= cores) or a range (the pool starts `max`; memory pressure may lower its target to `min`). */
  readonly size: number | "auto" | { readonly min: number; readonly max: number }
  /** Heap limit per thread (resourceLimits.maxOldGenerationSizeMb); at least 64 to boot Effect. */
  readonly heapLimitMb?: number
  /** How long a thread may take to start before the pool gives up with a clear error. */
  readonly startTimeout?: Duration.DurationInput
  /** The thread entrypoint (the compiled src/workers/main.js by default). */
  readonly entry?: string | URL
  /** Where handlers' progress and log lines go (one channel per thread); dropped when absent. */
  readonly onActivity?: ActivitySink | undefined
  /**
   * How long a task past its timeout, or cancelled, may keep running without yielding before
   * its thread is terminated and replaced (default 2000 ms).
   */
  readonly graceMs?: number
  /** A thread is replaced by a fresh one after this many attempts (0: never). Guards against leaking handlers. */
  readonly recycleAfterTasks?: number
  /** …or once its heap passes this (MiB; 0: never), below the hard heapLimitMb. */
  readonly heapSoftLimitMb?: number
  /**
   * An idle thread (no request in flight) that has not reported for this long is stale
   * (default 5000 ms; it reports every 500). A thread running a task is busy however long
   * its handler computes: its liveness is its existence (a dead thread fails its request at
   * once) and the watchdog (timeouts, cancels).
   */
  readonly staleAfterMs?: number
  /**
   * A short batch may wait behind the short one a thread runs (pipelining); when the task ahead
   * of it has run longer than this (its type's estimate was wrong), the waiting batch is
   * withdrawn and its attempts given back, uncounted (default 40 ms, twice targetBatch).
   */
  readonly queueBehindMs?: number
  /** Threads record a `troupe.attempt` span per task that carries a trace context (telemetry on). */
  readonly tracing?: boolean
  /** Where the spans that ended in threads go (the exporter); dropped when absent. */
  readonly onSpans?: ((spans: ReadonlyArray<FinishedSpan>) => void) | undefined
}

export { WorkerPoolError } from "./spawn.js"

/**
 * A supervised pool of worker threads on @effect/platform's Worker (NodeWorker spawner,
 * WorkerRunner in the thread). The pool owns its slots rather than using the platform's pool:
 * it sends one request per batch to an idle live thread, one request per thread at a time
 * (requests that queue inside a pool cost 4–8×, FIELD-NOTES.md; and a task claimed to wait
 * behind a running one would start out of rank order), and replaces a thread that dies — its in-flight attempts get WorkerCrashed outcomes. A
 * watchdog reads each thread's shared state and terminates a thread whose task overstays its
 * timeout or cancel by `graceMs`: that task fails (TaskTimeout / interrupted), the other
 * attempts on the thread come back Abandoned, and the thread is replaced.
 */
export class WorkerPool extends Context.Tag("troupe/WorkerPool")<WorkerPool, Executor & {
  /** Live threads. */
  readonly size: Effect.Effect<number>
  /** Threads replaced after a crash or a watchdog kill since start. */
  readonly replaced: Effect.Effect<number>
  /** Threads renewed after N tasks or past the soft heap limit since start. */
  readonly recycled: Effect.Effect<number>
  /** Waits until the pool has as many live threads as its target (e.g. after a replacement). */
  readonly whenFull: Effect.Effect<void>
  /**
   * Sets the number of threads to keep (within the configured range): threads above it stop
   * taking requests and stop once their running tasks finish; missing ones start.
   */
  readonly setTarget: (n: number) => Effect.Effect<void>
  readonly target: Effect.Effect<number>
}>() {}

const MAX_BATCH = 64

const resolveSize = (size: Options["size"]): { readonly min: number; readonly max: number } =>
  size === "auto"
    ? { min: 1, max: os.availableParallelism() }
    : typeof size === "number"
    ? { min: Math.min(1, size), max: size }
    : size

const defaultEntry = () => new URL("../../workers/main.js", import.meta.url)

const settings = (options: Options, range: { readonly min: number; readonly max: number }): State.Settings => ({
  modules: HandlersModules.list(options.handlersModule),
  entry: options.entry ?? defaultEntry(),
  heapLimitMb: options.heapLimitMb ?? 256,
  startTimeout: Duration.decode(options.startTimeout ?? "30 seconds"),
  min: range.min,
  max: range.max,
  graceMs: options.graceMs ?? 2000,
  recycleAfter: options.recycleAfterTasks ?? 0,
  softLimitBytes: (options.heapSoftLimitMb ?? 0) * 2 ** 20,
  staleAfterMs: options.staleAfterMs ?? 5000,
  queueBehindMs: options.queueBehindMs ?? 40,
  tracing: options.tracing === true,
  onActivity: options.onActivity,
  onSpans: options.onSpans
})

/**
 * Takes room for one batch now, if there is any (see Placement.pick). Nothing waits behind a
 * reservation until its batch runs and says it is short.
 */
const reserve = (pool: Pool, short: boolean): Option.Option<Reservation> => {
  const slot = Placement.pick(pool.slots, short, State.wallClock(), pool.settings.queueBehindMs)
  if (slot === undefined) return Option.none()
  slot.requests++
  if (slot.requests === 1) slot.long = true
  let used = false
  return Option.some<Reservation>({
    // Used when the batch starts, not when its effect is made: a batch fiber interrupted
    // before it starts leaves the reservation to `cancel`, which gives the room back.
    // Marked used and given its release in one uninterruptible step: no interruption can fall
    // between them and leave the room taken.
    run: (batch, isShort) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          if (used) return Effect.dieMessage("a reservation runs one batch")
          used = true
          if (slot.requests === 1) slot.long = !isShort
          return Effect.ensuring(restore(Request.runOn(pool, slot, batch)), Supervise.requestEnded(pool, slot))
        })
      ),
    cancel: Effect.suspend(() => {
      if (used) return Effect.void
      used = true
      return Supervise.requestEnded(pool, slot)
    })
  })
}

/** Takes an idle slot for a batch, waiting for one (`run` without a reservation). */
const acquire = (pool: Pool): Effect.Effect<Reservation> =>
  Effect.suspend(() =>
    Option.match(reserve(pool, false), {
      onNone: () => Effect.zipRight(State.awaitRoom(pool), acquire(pool)),
      onSome: Effect.succeed
    })
  )

/** Sends Cancel to the threads running these tasks (the pool knows which slot has which batch). */
const interrupt = (pool: Pool, ids: ReadonlyArray<TaskId>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const wanted = new Set<string>(ids)
    const now = State.wallClock()
    const sends: Array<Effect.Effect<void>> = []
    for (const slot of pool.slots) {
      const thread = Slot.threadOf(slot)
      const hits: Array<string> = []
      for (const entry of slot.inflight.values()) {
        if (entry.generation !== slot.generation) continue
        for (const task of entry.tasks) {
          if (!wanted.has(task.id)) continue
          ;(entry.cancelledAt ??= new Map()).set(task.id, now)
          hits.push(task.id)
        }
      }
      if (thread !== undefined && hits.length > 0) {
        sends.push(Effect.ignore(thread.worker.executeEffect(new Protocol.Cancel({ ids: hits }, { disableValidation: true }))))
      }
    }
    // Sent in the background: a thread that does not yield answers only when the watchdog
    // kills it, and the caller need not wait for that.
    return sends.length === 0
      ? Effect.void
      : FiberSet.run(pool.background, Effect.interruptible(Effect.all(sends, { concurrency: "unbounded", discard: true }))).pipe(Effect.asVoid)
  })

export const make = (options: Options) =>
  Effect.gen(function*() {
    const range = resolveSize(options.size)
    if (!Number.isInteger(range.max) || range.max < 1 || !Number.isInteger(range.min) || range.min < 1 || range.min > range.max) {
      return yield* Effect.fail(new WorkerPoolError({
        message: `worker pool size must be positive integers with min ≤ max, got ${range.min}–${range.max}`
      }))
    }
    // The pool starts at its maximum; a governor may lower the target under memory pressure.
    const pool = yield* State.make(settings(options, range), yield* Effect.scope, yield* FiberSet.make(), State.wallClock())
    yield* Effect.forEach(pool.slots, (slot) => Supervise.start(pool, slot), { concurrency: "unbounded", discard: true }).pipe(
      // Every thread fails the same way when its handlers module is bad: report the first, once.
      Effect.catchAllCause((cause) =>
        Option.match(Chunk.head(Cause.failures(cause)), { onNone: () => Effect.failCause(cause), onSome: Effect.fail })
      )
    )
    yield* Supervise.loops(pool)
    const live = () => State.live(pool)

    return WorkerPool.of({
      // Two requests per thread at most: one runs, a short one may wait behind it.
      room: () => ({ capacity: Math.max(1, live()) * 2 * MAX_BATCH, slots: Math.max(1, live()) * 2 }),
      maxBatch: MAX_BATCH,
      reserve: (short) => Effect.sync(() => reserve(pool, short)),
      roomChanged: State.awaitRoom(pool),
      run: (batch) => Effect.flatMap(acquire(pool), (reservation) => reservation.run(batch, false)),
      interrupt: (ids) => interrupt(pool, ids),
      workers: Effect.sync(() => {
        const now = State.wallClock()
        return pool.slots.filter((s) => s.phase._tag !== "Empty").map((s) => Slot.stats(s, now, pool.settings.staleAfterMs))
      }),
      recycled: Effect.sync(() => pool.recycled),
      size: Effect.sync(live),
      replaced: Effect.sync(() => pool.replaced),
      whenFull: pool.liveCount.changes.pipe(Stream.takeUntil((n) => n === pool.target), Stream.runDrain),
      setTarget: (n) => Resize.setTarget(pool, n),
      target: Effect.sync(() => pool.target)
    })
  })

/** The pool as a layer; threads start when the layer is built and stop when it is released. */
export const layer = (options: Options): Layer.Layer<WorkerPool, WorkerPoolError> => Layer.scoped(WorkerPool, make(options))
