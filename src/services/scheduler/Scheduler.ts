import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import type { RateLimit } from "../../domain/RateLimit.js"
import type { NodeInfo } from "../../domain/Node.js"
import type { ReadyRef } from "../../domain/Task.js"
import type { StoreError } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { WorkerStats } from "../../domain/WorkerStats.js"
import { Activity } from "../events/Activity.js"
import type { Executor } from "../pool/Executor.js"
import { Executors } from "../pool/Executors.js"
import { MemoryPressure } from "../resources/MemoryPressure.js"
import { ResourceGovernor } from "../resources/ResourceGovernor.js"
import * as Control from "./Control.js"
import { Command } from "./Command.js"
import * as Dispatcher from "./Dispatcher.js"
import type * as Plan from "./Plan.js"
import * as LeaseHeartbeat from "./maintenance/LeaseHeartbeat.js"
import * as LeaseRecovery from "./maintenance/LeaseRecovery.js"
import * as NodeHeartbeat from "./maintenance/NodeHeartbeat.js"
import * as CountsCompaction from "./maintenance/CountsCompaction.js"
import * as MetricsSampler from "./maintenance/MetricsSampler.js"
import * as Retention from "./maintenance/Retention.js"
import * as WakeTimer from "./maintenance/WakeTimer.js"
import { Mailbox } from "./Mailbox.js"
import { Recorder } from "./Recorder.js"
import type { Minute, Sample } from "./Recorder.js"
import * as State from "./State.js"
import { TaskEvents } from "../events/TaskEvents.js"
import { Telemetry } from "../telemetry/Telemetry.js"
import type { Change } from "../store/TaskStore.js"
import { TaskStore } from "../store/TaskStore.js"

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
  /** Most attempts of a type running at once, across every process sharing the store (undefined: no limit). */
  readonly typeLimit: (type: string) => number | undefined
  /** Starts per interval of a type (or of each rate key of it), held by the store (undefined: none). */
  readonly rateLimit?: (type: string) => RateLimit | undefined
  /** Final tasks older than this are purged with their logs; 0 keeps them forever. */
  readonly retentionMs: number
  /** Sliding window of throughput, run/wait times and health. */
  readonly statsWindowMs: number
  /**
   * On shutdown, how long running attempts may go on before they are interrupted and given
   * back (pending again, the attempt not counted). 0: interrupt at once.
   */
  readonly shutdownTimeoutMs?: number
  /**
   * Whether another lease owner is known to be gone (its process no longer exists): its
   * running tasks are recovered at start-up and within a poll interval, rather than when their
   * leases expire. Default: never.
   */
  readonly ownerGone?: (owner: string) => boolean
  /**
   * A node (this process's scheduler is one) that has not heartbeated for this long is declared
   * dead by the leader and its running attempts recovered (default 10 s).
   */
  readonly nodeTimeoutMs?: number
}

/** What this process's scheduler saw lately (stats and health). */
export interface Window {
  readonly samples: ReadonlyArray<Sample>
  readonly storeErrors: number
  readonly windowMs: number
  readonly running: number
  /** Attempts ended per minute over the last hour, oldest first. */
  readonly history: ReadonlyArray<Minute>
  /** This node's owner in the nodes table (none: a producer-only process). */
  readonly owner: string | undefined
}

/**
 * Owns the run loop: a dispatcher that takes ready tasks from the mailbox whenever an
 * executor has room (and their type is not paused or at its limit), claims them and runs
 * them; a timer that wakes delayed and retrying tasks at their run-at; a lease heartbeat
 * that also stops attempts whose lease was taken away; the recovery of expired leases; and
 * the retention sweep. All fibers live in the layer's scope.
 */
export class Scheduler extends Context.Tag("troupe/Scheduler")<Scheduler, {
  /** Tells the scheduler that these tasks just became ready (in-process submit). */
  readonly notifyReady: (refs: ReadonlyArray<ReadyRef>) => Effect.Effect<void>
  /** Tells the scheduler that a delayed task was stored (re-arm the timer). */
  readonly notifyDelayed: Effect.Effect<void>
  /** Publishes durable changes made outside the dispatcher and schedules what became ready. */
  readonly notifyChanges: (changes: ReadonlyArray<Change>) => Effect.Effect<void, StoreError>
  /** Interrupts this process's running attempts of these tasks. */
  readonly interrupt: (ids: ReadonlyArray<TaskId>) => Effect.Effect<void>
  /** Re-reads the pause gates (after a pause or resume of a type or the queue). */
  readonly refreshPauses: Effect.Effect<void, StoreError>
  /** Tasks claimed by this process and not yet finished. */
  readonly inFlight: Effect.Effect<number>
  /** Which of these tasks this process runs now (their end is heard here, not polled). */
  readonly runningHere: (ids: ReadonlyArray<TaskId>) => Effect.Effect<ReadonlyArray<TaskId>>
  /** The recent window of ended attempts and store errors. */
  readonly window: Effect.Effect<Window>
  /** Worker threads of every executor, and whether any task type needs them. */
  readonly workers: Effect.Effect<{ readonly threads: boolean; readonly workers: ReadonlyArray<WorkerStats> }>
}>() {}

export const make = (options: Options) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const events = yield* TaskEvents
    const executors = yield* Executors
    const mailbox = new Mailbox(options.mailboxCapacity)
    const commands = yield* Queue.unbounded<Command>()
    const timerWake = yield* Queue.sliding<void>(1)
    const inFlight = new Map<TaskId, string>()
    // Finalizers run in reverse: batches are interrupted first, then their attempts released,
    // then this node leaves the nodes table.
    yield* Effect.addFinalizer(() => Effect.ignore(store.removeNodes([options.owner])))
    yield* Effect.addFinalizer(() => LeaseHeartbeat.releaseAll(store, inFlight))
    const batches = yield* FiberSet.make()
    const leaseCheck = yield* Queue.sliding<void>(1)
    const state = State.makeState(mailbox, commands, timerWake, leaseCheck, batches, inFlight, options.statsWindowMs)
    const activity = yield* Activity
    const governor = yield* ResourceGovernor
    const telemetry = yield* Telemetry
    const scope = yield* Effect.scope
    const world: Plan.World<Executor> = { executorFor: executors.forType, room: (e) => e.room(), maxBatch: (e) => e.maxBatch }
    const cluster = yield* NodeHeartbeat.makeCluster
    const env: State.Env = { activityBarrier: activity.barrier, store, events, executors, world, governor, options, state, telemetry, scope, cluster }
    const startedAt = yield* Clock.currentTimeMillis
    const pressure = yield* MemoryPressure
    const report: Effect.Effect<NodeInfo> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const window = state.recorder.window(now)
      const workers = yield* Effect.forEach(executors.all, (e) => e.workers)
      const memory = yield* pressure.state
      return {
        host: os.hostname(),
        pid: process.pid,
        running: state.inFlight.size,
        perSecond: window.samples.length / (options.statsWindowMs / 1000),
        workers: workers.flat(),
        memory: memory.last === null
          ? null
          : { usedShare: memory.last.usedShare, freeMb: memory.last.freeMb, underPressure: memory.underPressure },
        history: state.recorder.recent(now)
      }
    })

    // Recover what a dead process left running (gone, or its lease expired) and read the pause
    // gates before dispatching anything: the dispatcher applies them first.
    yield* LeaseRecovery.recover(env)
    // Registered (and leadership known) before the maintenance loops start.
    const heartbeat = NodeHeartbeat.make(env, startedAt, report)
    yield* heartbeat.beat.pipe(Effect.catchAllCause((cause) => Effect.logError("node heartbeat failed", Cause.squash(cause))))
    yield* Effect.flatMap(store.pauses, (pauses) => Control.send(state, Command.Paused({ pauses, done: undefined }))).pipe(
      Effect.catchAll((e) => Effect.logError("could not read pause gates", e))
    )
    yield* Control.wake(state, true)

    yield* Effect.forkScoped(Dispatcher.run(env))
    // Maintenance duties, one module each: they read the store and send the dispatcher commands.
    yield* Effect.forkScoped(WakeTimer.run(env))
    // What other processes said (PostgreSQL's LISTEN/NOTIFY): work may be ready, the dispatcher
    // reads the store now; work will be due later, the timer looks again; a task was cancelled
    // or a pause gate changed, the lease heartbeat looks now (it stops the attempt if it runs
    // here) and the gates are read again.
    yield* Effect.forkScoped(Stream.runForEach(store.signals, (signal) => {
      switch (signal) {
        case "ready":
          return Control.wake(state, true)
        case "timer":
          return Queue.offer(timerWake, undefined)
        case "control":
          return Effect.zipRight(
            Queue.offer(state.leaseCheck, undefined),
            Control.refreshPauses(env).pipe(Effect.catchAll((e) => Effect.logError("could not read pause gates", e)))
          )
      }
    }))
    yield* Effect.forkScoped(LeaseHeartbeat.run(env))
    yield* Effect.forkScoped(heartbeat.run)
    yield* Effect.forkScoped(LeaseRecovery.expiredLoop(env))
    yield* Effect.forkScoped(LeaseRecovery.orphanLoop(env))
    yield* Effect.forkScoped(Retention.run(env))
    yield* Effect.forkScoped(CountsCompaction.run(env))
    if (telemetry.metrics) yield* Effect.forkScoped(MetricsSampler.run(env))

    // Registered last, so it runs first on shutdown: stop claiming, let running attempts finish
    // (the heartbeat still extends their leases) up to the timeout; the batches left are then
    // interrupted and their attempts given back by the finalizers above.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Control.sendAndWait(state, (done) => Command.Stop({ done })).pipe(Effect.ignore)
        const timeout = options.shutdownTimeoutMs ?? 0
        if (timeout <= 0 || (yield* FiberSet.size(batches)) === 0) return
        yield* Effect.logInfo(`shutting down: waiting up to ${timeout} ms for ${state.inFlight.size} running attempt(s)`)
        // Finalizers run uninterruptibly: the wait must be interruptible for the timeout to end it.
        yield* Effect.interruptible(FiberSet.awaitEmpty(batches)).pipe(Effect.timeoutOption(Duration.millis(timeout)))
      }))

    return Scheduler.of({
      // Not awaited: the submit is durable already, and the dispatcher may be busy claiming.
      notifyReady: (refs) => Control.send(state, Command.Ready({ refs, done: undefined })),
      notifyDelayed: Queue.offer(timerWake, undefined),
      notifyChanges: (changes) => Control.sendAndWait(state, (done) => Command.Changed({ changes, endedKeys: [], done })),
      interrupt: (ids) => Control.interrupt(env, ids),
      refreshPauses: Control.refreshPauses(env),
      inFlight: Effect.sync(() => state.inFlight.size),
      runningHere: (ids) => Effect.sync(() => ids.filter((id) => state.inFlight.has(id))),
      window: Effect.map(Clock.currentTimeMillis, (now) => ({
        ...state.recorder.window(now),
        history: state.recorder.history(now),
        windowMs: options.statsWindowMs,
        running: state.inFlight.size,
        owner: options.owner
      })),
      workers: Effect.map(
        Effect.forEach(executors.all, (e) => e.workers),
        (lists) => ({ threads: executors.threads, workers: lists.flat() })
      )
    })
  }).pipe(Effect.annotateLogs({ service: "Scheduler" }))

export const layer = (options: Options) => Layer.scoped(Scheduler, make(options))

/**
 * A producer-only process: nothing is dispatched here (other processes sharing the store run
 * the tasks); stats report no attempts and no workers of this process.
 */
export const layerNoop = (statsWindowMs = 60_000): Layer.Layer<Scheduler, never, TaskEvents> =>
  Layer.effect(Scheduler, Effect.map(TaskEvents, (events) => Scheduler.of({
    notifyReady: () => Effect.void,
    notifyDelayed: Effect.void,
    // Changes made here are still heard here (waiters, watchers).
    notifyChanges: (changes) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        events.publish(changes.map((c) => ({ _tag: "StatusChanged" as const, id: c.id, type: c.type, status: c.status, at })))),
    interrupt: () => Effect.void,
    refreshPauses: Effect.void,
    inFlight: Effect.succeed(0),
    runningHere: () => Effect.succeed([]),
    window: Effect.map(Clock.currentTimeMillis, (now) => ({ samples: [], storeErrors: 0, windowMs: statsWindowMs, running: 0, history: new Recorder(statsWindowMs).history(now), owner: undefined })),
    workers: Effect.succeed({ threads: false, workers: [] })
  })))
