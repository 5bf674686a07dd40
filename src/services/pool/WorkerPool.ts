import * as Worker from "@effect/platform/Worker"
import type { WorkerError } from "@effect/platform/WorkerError"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as os from "node:os"
import * as WorkerThreads from "node:worker_threads"
import * as Outcome from "../../domain/Outcome.js"
import type { Claimed } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { FinishedSpan } from "../../domain/Trace.js"
import { TaskDefect } from "../../domain/TaskErrors.js"
import * as Protocol from "../../workers/Protocol.js"
import * as HandlersModules from "../../workers/HandlersModules.js"
import * as ThreadState from "../../workers/ThreadState.js"
import type { ActivitySink, Executor, Ran, Reservation } from "./Executor.js"
import * as Activity from "./activity.js"
import * as Crash from "./crash.js"
import * as Placement from "./placement.js"
import * as Slot from "./slot.js"
import * as Watchdog from "./watchdog.js"

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

/** The pool could not start. */
export class WorkerPoolError extends Data.TaggedError("WorkerPoolError")<{ readonly message: string }> {}

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

interface Spawned {
  readonly thread: WorkerThreads.Worker
  readonly state: SharedArrayBuffer
}

const resolveSize = (size: Options["size"]): { readonly min: number; readonly max: number } =>
  size === "auto"
    ? { min: 1, max: os.availableParallelism() }
    : typeof size === "number"
    ? { min: Math.min(1, size), max: size }
    : size

const defaultEntry = () => new URL("../../workers/main.js", import.meta.url)

// Thread-facing times (started, last seen, cancelled, deadlines) are wall-clock epoch ms: the
// threads write Date.now() into shared memory and are never under TestClock. A documented bridge.
const wallClock = () => Date.now()

// For the same reason the pool's own waits (supervision loops, start timeout, restart pauses)
// run on the live clock even where the caller's is a TestClock (TroupeTest with threads): they
// pace real threads.
const liveClock = Clock.make()
const realTime = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withClock(effect, liveClock)

export const make = (options: Options) =>
  Effect.gen(function*() {
    const range = resolveSize(options.size)
    const count = range.max
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(range.min) || range.min < 1 || range.min > count) {
      return yield* Effect.fail(new WorkerPoolError({
        message: `worker pool size must be positive integers with min ≤ max, got ${range.min}–${count}`
      }))
    }
    // The pool starts at its maximum; a governor may lower the target under memory pressure.
    let target = count
    const graceMs = options.graceMs ?? 2000
    const recycleAfter = options.recycleAfterTasks ?? 0
    const softLimitBytes = (options.heapSoftLimitMb ?? 0) * 2 ** 20
    const staleAfterMs = options.staleAfterMs ?? 5000
    const queueBehindMs = options.queueBehindMs ?? 40
    let recycled = 0
    const startTimeout = Duration.decode(options.startTimeout ?? "30 seconds")
    const poolScope = yield* Effect.scope
    const modules = HandlersModules.list(options.handlersModule)
    const background = yield* FiberSet.make()
    // Room may have opened (a thread started, a request ended): every waiter hears it.
    let roomOpened = Deferred.unsafeMake<void>(FiberId.none)
    const signalRoom = Effect.sync(() => {
      const opened = roomOpened
      roomOpened = Deferred.unsafeMake<void>(FiberId.none)
      Deferred.unsafeDone(opened, Exit.void)
    })
    const awaitRoom = Effect.suspend(() => Deferred.await(roomOpened))
    const slots: Array<Slot.Slot> = Array.from({ length: count }, (_, index) => Slot.make(index, wallClock()))
    let replaced = 0
    let batchSeq = 0
    const liveCount = yield* SubscriptionRef.make(0)
    const refreshLive = Effect.suspend(() =>
      SubscriptionRef.set(liveCount, slots.filter((s) => s.worker !== undefined && !s.retiring).length)
    )

    /**
     * Starts a thread in the slot, in a scope of its own so it can be torn down alone. The
     * spawner constructs the thread (so the slot keeps its handle and shared state), and a
     * thread that fails before it serves — its handlers module throws in a worker thread, say
     * — fails the start at once with the thread's own error (the platform would respawn it
     * until the start timeout).
     */
    const spawn = (slot: Slot.Slot) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(poolScope, ExecutionStrategy.sequential)
        const failed = yield* Deferred.make<never, WorkerPoolError>()
        let spawned: Spawned | undefined
        const spawner = NodeWorker.layer(() => {
          const state = ThreadState.make()
          const thread = new WorkerThreads.Worker(options.entry ?? defaultEntry(), {
            workerData: { handlersModules: modules, state, tracing: options.tracing === true } satisfies Protocol.WorkerData,
            resourceLimits: { maxOldGenerationSizeMb: options.heapLimitMb ?? 256 }
          })
          thread.once("error", (error) => {
            Deferred.unsafeDone(failed, Exit.fail(new WorkerPoolError({ message: Crash.startFailure(slot.index, modules, error) })))
          })
          spawned = { thread, state }
          return thread
        })
        const worker = yield* Worker.makeSerialized<Protocol.Request>({}).pipe(
          Effect.provide(spawner),
          // The platform warns on every thread exit (with the thread's error); the pool reports
          // starts and crashes itself, once, so only the platform's errors get through.
          Logger.withMinimumLogLevel(LogLevel.Error),
          Effect.raceFirst(Deferred.await(failed)),
          Scope.extend(scope),
          Effect.timeoutFail({
            duration: startTimeout,
            onTimeout: () =>
              new WorkerPoolError({
                message: `worker thread ${slot.index} did not start within ${Duration.format(startTimeout)} ` +
                  `(handlers module${modules.length === 1 ? "" : "s"} ${modules.join(", ")})`
              })
          }),
          realTime,
          Effect.catchAll((e) =>
            Effect.zipRight(
              Scope.close(scope, Exit.void),
              // The thread's own error, when it sent one, says more than the platform's "exited"
              // (both listeners hear the same event; either may end the race first).
              Effect.flatMap(Deferred.poll(failed), (own) =>
                Option.isSome(own)
                  ? own.value
                  : Effect.fail(e._tag === "WorkerPoolError" ? e : new WorkerPoolError({ message: `worker thread ${slot.index} failed to start: ${e.message}` })))
            )
          )
        )
        // Handled once started: a later error is a crash, seen through the thread's requests.
        spawned?.thread.on("error", () => {})
        slot.thread = spawned?.thread
        slot.state = spawned === undefined ? undefined : ThreadState.view(spawned.state)
        slot.delivery = undefined
        if (options.onActivity !== undefined) {
          const delivery = Activity.make()
          slot.delivery = delivery
          // Interruptible whatever region the spawn runs in (a replace may start from a finalizer).
          yield* Effect.forkIn(Effect.interruptible(Activity.forward(worker, options.onActivity, delivery, options.onSpans)), scope)
        }
        slot.startedAt = wallClock()
        slot.startError = undefined
        slot.dying = false
        slot.worker = worker
        slot.scope = scope
        yield* refreshLive
        yield* signalRoom
      })

    /** A start failed: the slot says why (stats, health) until a start succeeds. */
    const startFailed = (slot: Slot.Slot, e: WorkerPoolError, what: "start" | "replace") =>
      Effect.zipRight(
        Effect.sync(() => {
          slot.startError = e.message
        }),
        Effect.logError(`could not ${what} worker thread ${slot.index}: ${e.message}; retrying`)
      )

    /** Tears a dead thread down and starts another in its slot (once per generation). */
    const replace = (slot: Slot.Slot, generation: number, why: "crash" | "recycle" = "crash") =>
      Effect.suspend(() => {
        if (slot.generation !== generation) return Effect.void
        if (slot.retiring) return retire(slot)
        slot.generation++
        slot.recycling = false
        slot.tasksThisThread = 0
        if (why === "recycle") {
          slot.recycled++
          recycled++
          replaced--
        }
        slot.worker = undefined
        slot.thread = undefined
        slot.state = undefined
        const old = slot.scope
        slot.scope = undefined
        replaced++
        const restart: Effect.Effect<void> = spawn(slot).pipe(
          Effect.catchAll((e) =>
            Effect.zipRight(startFailed(slot, e, "replace"), realTime(Effect.sleep("1 second"))).pipe(
              Effect.zipRight(Effect.suspend(() => restart))
            )
          )
        )
        return Effect.zipRight(
          Effect.zipRight(refreshLive, old === undefined ? Effect.void : Scope.close(old, Exit.void)),
          FiberSet.run(background, Effect.interruptible(restart))
        ).pipe(Effect.asVoid)
      })

    /**
     * Replaces a thread the watchdog killed once no request waits on it any more (closing its
     * scope earlier would interrupt them instead of letting them see the thread's exit).
     */
    const replaceIfDrained = (slot: Slot.Slot, generation: number) =>
      Effect.suspend(() =>
        slot.generation === generation && slot.dying && Slot.inflightOf(slot, generation) === 0 ? replace(slot, generation) : Effect.void
      )

    /** Stops a retiring slot's thread once nothing runs on it (a clean shutdown). */
    const retire = (slot: Slot.Slot): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (!slot.retiring || slot.requests > 0 || slot.scope === undefined) return Effect.void
        const old = slot.scope
        slot.scope = undefined
        slot.worker = undefined
        slot.thread = undefined
        slot.state = undefined
        slot.generation++
        return Effect.zipRight(refreshLive, FiberSet.run(background, Scope.close(old, Exit.void))).pipe(Effect.asVoid)
      })

    const startSlot = (slot: Slot.Slot): Effect.Effect<void> =>
      spawn(slot).pipe(
        Effect.catchAll((e) =>
          Effect.zipRight(startFailed(slot, e, "start"), realTime(Effect.sleep("1 second"))).pipe(
            Effect.zipRight(Effect.suspend(() => (slot.retiring ? Effect.void : startSlot(slot))))
          )
        )
      )

    const setTarget = (n: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        target = Math.max(range.min, Math.min(count, Math.round(n)))
        const effects: Array<Effect.Effect<void>> = []
        for (const slot of slots) {
          if (slot.index >= target) {
            slot.retiring = true
            effects.push(retire(slot))
          } else if (slot.retiring) {
            // Back under the target: keep its thread if it still has one, else start one. (A
            // slot that is not retiring and has no thread is being started by someone else.)
            slot.retiring = false
            if (slot.scope === undefined) effects.push(FiberSet.run(background, startSlot(slot)).pipe(Effect.asVoid))
          }
        }
        return Effect.zipRight(Effect.all(effects, { discard: true }), signalRoom)
      })

    yield* Effect.forEach(slots, spawn, { concurrency: "unbounded", discard: true }).pipe(
      // Every thread fails the same way when its handlers module is bad: report the first, once.
      Effect.catchAllCause((cause) =>
        Option.match(Chunk.head(Cause.failures(cause)), { onNone: () => Effect.failCause(cause), onSome: Effect.fail })
      )
    )

    const pick = (short: boolean) => Placement.pick(slots, short, wallClock(), queueBehindMs)

    /** Takes a slot for a batch; waits when there is none (the scheduler asks `room` first). */
    const acquire = (short: boolean): Effect.Effect<Slot.Slot> =>
      Effect.suspend(() => {
        const slot = pick(short)
        if (slot === undefined) return Effect.zipRight(awaitRoom, acquire(short))
        slot.requests++
        if (!short) slot.long = true
        return Effect.succeed(slot)
      })

    const release = (slot: Slot.Slot) =>
      Effect.zipRight(
        Effect.sync(() => {
          slot.requests--
          if (slot.requests === 0) slot.long = false
        }),
        Effect.zipRight(Effect.zipRight(retire(slot), recycleIfDrained(slot)), signalRoom)
      )

    const crashedOutcomes = (batch: ReadonlyArray<Claimed>, slot: Slot.Slot, error: WorkerError) => {
      const crashed = Crash.classify(slot.index, error)
      return batch.map((task) => new Outcome.Failed({ id: task.id, error: crashed }))
    }

    const tally = (slot: Slot.Slot, ran: Ran): void => {
      slot.tasksDone += ran.outcomes.length
      slot.tasksThisThread += ran.outcomes.length
      for (const o of ran.outcomes) if (o._tag === "Failed") slot.failures++
      const heap = slot.state === undefined ? null : ThreadState.heapUsed(slot.state)
      if ((recycleAfter > 0 && slot.tasksThisThread >= recycleAfter) || (softLimitBytes > 0 && heap !== null && heap > softLimitBytes)) {
        slot.recycling = true
      }
    }

    /** Gives a slot due for recycling a fresh thread once nothing runs on it. */
    const recycleIfDrained = (slot: Slot.Slot) =>
      Effect.suspend(() => (slot.recycling && slot.requests === 0 && !slot.dying ? replace(slot, slot.generation, "recycle") : Effect.void))

    /** Sends the batch to the slot's thread; the slot is given back however it ends. */
    const runOn = (slot: Slot.Slot, batch: ReadonlyArray<Claimed>): Effect.Effect<Ran> =>
      Effect.suspend(() => {
          const worker = slot.worker!
          const view = slot.state
          const delivery = slot.delivery
          const generation = slot.generation
          // Sent behind the request the thread runs: the pool may take it back (give way).
          const queued = slot.requests > 1 && view !== undefined
          const entry: Watchdog.Inflight = {
            batch: ++batchSeq,
            generation,
            tasks: batch,
            cancelledAt: undefined,
            killed: undefined,
            withdrawn: queued ? Deferred.unsafeMake<void>(FiberId.none) : undefined
          }
          slot.inflight.set(entry.batch, entry)
          if (queued) ThreadState.queueNext(view, entry.batch)
          // The tasks come from the store and are valid: skip re-validating them here.
          const request = new Protocol.RunBatch({
            batch: entry.batch,
            tasks: batch.map((t) => ({
              id: t.id,
              type: t.type,
              payload: t.payload,
              attempt: t.attempt,
              timeoutMs: t.timeoutMs,
              priority: t.priority,
              trace: t.traceParent
            }))
          }, { disableValidation: true })
          const sent = entry.withdrawn === undefined ? worker.executeEffect(request) : Effect.raceFirst(
            worker.executeEffect(request),
            // Withdrawn: the thread will skip it (shared state), so it need not be waited for.
            Effect.as(Deferred.await(entry.withdrawn), {
              outcomes: batch.map((task) => ({ _tag: "Abandoned" as const, id: task.id })),
              busyMs: 0,
              activitySeq: 0
            })
          )
          return sent.pipe(
            // The lines flushed before the reply reach the sink before the outcomes return.
            Effect.tap((reply) => Activity.awaitChunk(delivery, reply.activitySeq)),
            // Replies come back in input order; the typed ids are the batch's own.
            Effect.map((reply): Ran => ({
              busyMs: reply.busyMs,
              outcomes: batch.map((task, i): Outcome.Outcome => {
                const o = reply.outcomes[i]
                if (o === undefined) {
                  return new Outcome.Failed({ id: task.id, error: new TaskDefect({ reason: "decode", message: "worker reply is missing this task" }) }, { disableValidation: true })
                }
                switch (o._tag) {
                  case "Succeeded":
                    return new Outcome.Succeeded({ id: task.id, result: o.result }, { disableValidation: true })
                  case "Failed":
                    return new Outcome.Failed({ id: task.id, error: o.error }, { disableValidation: true })
                  case "Abandoned":
                    return new Outcome.Abandoned({ id: task.id }, { disableValidation: true })
                }
              })
            })),
            Effect.catchAll((error): Effect.Effect<Ran> => {
              if (error._tag === "WorkerError") {
                // Killed by the watchdog: not a crash.
                const killed = entry.killed
                // A request queued behind the one the thread was running never started: its
                // attempts are given back, uncounted; the crash belongs to the running one.
                const running = view === undefined ? undefined : ThreadState.read(view)
                const waiting = running !== undefined && running.index >= 0 && running.batch !== entry.batch
                const outcomes = killed !== undefined
                  ? Watchdog.killedOutcomes(entry, killed)
                  : waiting
                  ? batch.map((task) => new Outcome.Abandoned({ id: task.id }, { disableValidation: true }))
                  : crashedOutcomes(batch, slot, error)
                // A crash is reported once, here (the platform's own warnings are silenced).
                const report = killed === undefined && !waiting
                  ? Effect.logWarning(`${Crash.classify(slot.index, error).message}; replacing it`)
                  : Effect.void
                return Effect.as(
                  Effect.zipRight(report, killed === undefined ? replace(slot, generation) : Effect.void),
                  { busyMs: 0, outcomes }
                )
              }
              return Effect.succeed({ busyMs: 0, outcomes: batch.map((task) =>
                new Outcome.Failed({
                  id: task.id,
                  error: new TaskDefect({ reason: "decode", message: `worker reply: ${error.message}` })
                })
              ) })
            }),
            Effect.tap((ran) => Effect.sync(() => tally(slot, ran))),
            Effect.ensuring(Effect.suspend(() => {
              slot.inflight.delete(entry.batch)
              return replaceIfDrained(slot, generation)
            }))
          )
      }).pipe(Effect.ensuring(release(slot)))

    /**
     * Takes room for one batch now, if there is any (see `pick`). Nothing waits behind a
     * reservation until its batch runs and says it is short.
     */
    const reserve = (short: boolean): Effect.Effect<Option.Option<Reservation>> =>
      Effect.sync(() => {
        const slot = pick(short)
        if (slot === undefined) return Option.none()
        slot.requests++
        if (slot.requests === 1) slot.long = true
        let used = false
        return Option.some<Reservation>({
          run: (batch, isShort) => {
            used = true
            if (slot.requests === 1) slot.long = !isShort
            return runOn(slot, batch)
          },
          cancel: Effect.suspend(() => {
            if (used) return Effect.void
            used = true
            return release(slot)
          })
        })
      })

    /**
     * Gives way: a batch waiting behind a task that has run longer than `queueBehindMs` is
     * taken back before the thread starts it (its attempts come back Abandoned and run again,
     * in rank order, wherever a thread frees first), and nothing more waits on that thread.
     */
    const withdrawStuck = Effect.sync(() => {
      for (const { entry, slot, view } of Placement.stuck(slots, wallClock(), queueBehindMs)) {
        if (ThreadState.withdraw(view, entry.batch)) {
          slot.long = true
          Deferred.unsafeDone(entry.withdrawn!, Exit.void)
        }
      }
    })

    /** Sends Cancel to the threads running these tasks (the pool knows which slot has which batch). */
    const interrupt = (ids: ReadonlyArray<TaskId>): Effect.Effect<void> =>
      Effect.suspend(() => {
        const wanted = new Set<string>(ids)
        const now = wallClock()
        const sends: Array<Effect.Effect<void>> = []
        for (const slot of slots) {
          const worker = slot.worker
          const hits: Array<string> = []
          for (const entry of slot.inflight.values()) {
            if (entry.generation !== slot.generation) continue
            for (const task of entry.tasks) {
              if (!wanted.has(task.id)) continue
              ;(entry.cancelledAt ??= new Map()).set(task.id, now)
              hits.push(task.id)
            }
          }
          if (worker !== undefined && hits.length > 0) {
            sends.push(Effect.ignore(worker.executeEffect(new Protocol.Cancel({ ids: hits }, { disableValidation: true }))))
          }
        }
        // Sent in the background: a thread that does not yield answers only when the watchdog
        // kills it, and the caller need not wait for that.
        return sends.length === 0
          ? Effect.void
          : FiberSet.run(background, Effect.interruptible(Effect.all(sends, { concurrency: "unbounded", discard: true }))).pipe(Effect.asVoid)
      })

    /** Terminates a thread whose task does not yield; its requests resolve as the verdict says. */
    const kill = (slot: Slot.Slot, verdict: Watchdog.Verdict) =>
      Effect.suspend(() => {
        const thread = slot.thread
        if (thread === undefined) return Effect.void
        const generation = slot.generation
        slot.dying = true
        for (const entry of slot.inflight.values()) {
          if (entry.generation !== generation) continue
          entry.killed = entry === verdict.entry
            ? { _tag: "Culprit", index: verdict.index, outcome: verdict.outcome }
            : { _tag: "Bystander" }
        }
        return Effect.logWarning(
          `${verdict.reason} and did not yield within ${graceMs} ms: terminating worker thread ${slot.index}`
        ).pipe(
          Effect.zipRight(Effect.promise(() => thread.terminate())),
          Effect.zipRight(replaceIfDrained(slot, generation)),
          Effect.interruptible,
          FiberSet.run(background)
        )
      })

    const check = Effect.suspend(() => {
      const now = wallClock()
      const kills: Array<Effect.Effect<unknown>> = []
      for (const slot of slots) {
        if (slot.worker === undefined || slot.state === undefined || slot.dying) continue
        const verdict = Watchdog.judge(ThreadState.read(slot.state), slot.inflight, now, graceMs)
        if (verdict !== undefined) kills.push(kill(slot, verdict))
      }
      return Effect.all(kills, { discard: true })
    })
    // Threads are not under TestClock, and neither is this loop's purpose: real time.
    yield* check.pipe(
      Effect.zipRight(realTime(Effect.sleep(Duration.millis(Math.max(10, graceMs / 4))))),
      Effect.forever,
      Effect.forkScoped
    )

    // Real time too: a waiting batch is taken back within a quarter of queueBehindMs.
    yield* withdrawStuck.pipe(
      Effect.zipRight(realTime(Effect.sleep(Duration.millis(Math.max(5, queueBehindMs / 4))))),
      Effect.forever,
      Effect.forkScoped
    )

    const live = () => slots.filter((s) => s.worker !== undefined && !s.retiring).length

    return WorkerPool.of({
      // Two requests per thread at most: one runs, a short one may wait behind it.
      room: () => ({ capacity: Math.max(1, live()) * 2 * MAX_BATCH, slots: Math.max(1, live()) * 2 }),
      maxBatch: MAX_BATCH,
      reserve,
      roomChanged: awaitRoom,
      run: (batch) => Effect.flatMap(acquire(false), (slot) => runOn(slot, batch)),
      interrupt,
      workers: Effect.sync(() => {
        const now = wallClock()
        return slots.filter((s) => !(s.retiring && s.worker === undefined)).map((s) => Slot.stats(s, now, staleAfterMs))
      }),
      recycled: Effect.sync(() => recycled),
      size: Effect.sync(live),
      replaced: Effect.sync(() => replaced),
      whenFull: liveCount.changes.pipe(Stream.takeUntil((n) => n === target), Stream.runDrain),
      setTarget,
      target: Effect.sync(() => target)
    })
  })

/** The pool as a layer; threads start when the layer is built and stop when it is released. */
export const layer = (options: Options): Layer.Layer<WorkerPool, WorkerPoolError> => Layer.scoped(WorkerPool, make(options))
