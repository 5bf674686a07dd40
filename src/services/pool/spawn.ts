import * as Worker from "@effect/platform/Worker"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as WorkerThreads from "node:worker_threads"
import type * as Protocol from "../../workers/Protocol.js"
import * as ThreadState from "../../workers/ThreadState.js"
import * as Activity from "./activity.js"
import * as Crash from "./crash.js"
import type * as Slot from "./slot.js"
import type { Pool } from "./state.js"

/** The pool could not start. */
export class WorkerPoolError extends Data.TaggedError("WorkerPoolError")<{ readonly message: string }> {}

// The pool's own waits (start timeout, restart pauses, supervision loops) run on the live clock
// even where the caller's is a TestClock (TroupeTest with threads): they pace real threads.
const liveClock = Clock.make()
export const realTime = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withClock(effect, liveClock)

/**
 * Starts a thread for slot `index`, in a scope of its own (forked from the pool's) so it can be
 * torn down alone. The spawner constructs the thread, so the pool keeps its handle and shared
 * state; a thread that fails before it serves — its handlers module throws in a worker thread,
 * say — fails the start at once with the thread's own error (the platform would respawn it
 * until the start timeout).
 */
export const spawn = (pool: Pool, index: number): Effect.Effect<Slot.Thread, WorkerPoolError> =>
  Effect.gen(function*() {
    const { settings } = pool
    const modules = settings.modules
    const scope = yield* Scope.fork(pool.scope, ExecutionStrategy.sequential)
    const failed = yield* Deferred.make<never, WorkerPoolError>()
    let spawned: { readonly handle: WorkerThreads.Worker; readonly state: SharedArrayBuffer } | undefined
    const spawner = NodeWorker.layer(() => {
      const state = ThreadState.make()
      const handle = new WorkerThreads.Worker(settings.entry, {
        workerData: { handlersModules: modules, state, tracing: settings.tracing } satisfies Protocol.WorkerData,
        resourceLimits: { maxOldGenerationSizeMb: settings.heapLimitMb }
      })
      handle.once("error", (error) => {
        Deferred.unsafeDone(failed, Exit.fail(new WorkerPoolError({ message: Crash.startFailure(index, modules, error) })))
      })
      spawned = { handle, state }
      return handle
    })
    const worker = yield* Worker.makeSerialized<Protocol.Request>({}).pipe(
      Effect.provide(spawner),
      // The platform warns on every thread exit (with the thread's error); the pool reports
      // starts and crashes itself, once, so only the platform's errors get through.
      Logger.withMinimumLogLevel(LogLevel.Error),
      Effect.raceFirst(Deferred.await(failed)),
      Scope.extend(scope),
      Effect.timeoutFail({
        duration: settings.startTimeout,
        onTimeout: () =>
          new WorkerPoolError({
            message: `worker thread ${index} did not start within ${Duration.format(settings.startTimeout)} ` +
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
              : Effect.fail(e._tag === "WorkerPoolError" ? e : new WorkerPoolError({ message: `worker thread ${index} failed to start: ${e.message}` })))
        )
      )
    )
    if (spawned === undefined) {
      yield* Scope.close(scope, Exit.void)
      return yield* new WorkerPoolError({ message: `worker thread ${index} failed to start: no thread was created` })
    }
    // Handled once started: a later error is a crash, seen through the thread's requests.
    spawned.handle.on("error", () => {})
    let delivery: Activity.Delivery | undefined
    if (settings.onActivity !== undefined) {
      delivery = Activity.make()
      // Interruptible whatever region the spawn runs in (a replace may start from a finalizer).
      yield* Effect.forkIn(Effect.interruptible(Activity.forward(worker, settings.onActivity, delivery, settings.onSpans)), scope)
    }
    return { worker, scope, handle: spawned.handle, state: ThreadState.view(spawned.state), delivery }
  })
