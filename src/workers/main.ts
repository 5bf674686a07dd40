/**
 * The worker-thread entrypoint. It loads the handlers modules named in workerData (re-read on
 * every respawn) and serves RunBatch requests (one request carries many tasks, each with its
 * own Outcome), Cancel requests, and the thread's one activity channel. Only Schema-encoded
 * data crosses the boundary; the running task is also written to shared memory
 * (ThreadState) for the pool's watchdog.
 */
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as WorkerThreads from "node:worker_threads"
import * as Outcome from "../domain/Outcome.js"
import * as TaskId from "../domain/TaskId.js"
import * as ActivityOutbox from "./ActivityOutbox.js"
import * as BatchRun from "./BatchRun.js"
import type * as Handlers from "./Handlers.js"
import * as HandlersModules from "./HandlersModules.js"
import * as Protocol from "./Protocol.js"
import * as SpanRecorder from "./SpanRecorder.js"
import * as ThreadState from "./ThreadState.js"

const data = WorkerThreads.workerData as Protocol.WorkerData

// The handlers modules load before the runner starts, and a failure is thrown out of the
// thread's entrypoint: the pool receives the thread's own error as its start failure (a runner
// that failed to build would just exit, and be respawned until the start timeout). The
// documented bridge: the thread's entrypoint runs its program.
// The services the modules provide their handlers (Handlers.provide) are built here too, once
// for this thread, in a scope closed when the runner stops (the thread retired, recycled or
// shut down): a layer that cannot be built fails the thread's start with its own error.
const services = Effect.runSync(Scope.make())
const [handlers, context] = await Effect.runPromise(
  HandlersModules.load(data.handlersModules).pipe(
    Effect.catchAll((e) => Effect.die(new Error(e.message))),
    Effect.flatMap((handlers): Effect.Effect<readonly [Handlers.Any, Context.Context<unknown> | undefined]> =>
      handlers.layer === undefined
        ? Effect.succeed([handlers, undefined])
        : Layer.buildWithScope(handlers.layer, services).pipe(
          Effect.catchAllCause((cause) =>
            Effect.die(new Error(`the services of ${data.handlersModules.join(", ")} (Handlers.provide) could not be built: ${Cause.pretty(cause).split("\n")[0]}`))),
          Effect.map((context) => [handlers, context])
        ))
  )
).catch((defect: unknown) => {
  throw Runtime.isFiberFailure(defect) ? Cause.squash(defect[Runtime.FiberFailureCauseId]) : defect
})

// Heap and last-seen reach the pool through shared memory; a blocked thread stops updating
// them, which is what the pool's stats should show.
const reportHealth = (state: ThreadState.View) =>
  Effect.sync(() => ThreadState.writeHealth(state, process.memoryUsage().heapUsed, Date.now())).pipe(
    Effect.repeat(Schedule.spaced("500 millis")),
    Effect.forkScoped
  )

// One batch at a time per thread, its tasks one after another (BatchRun): a thread runs one
// CPU task at a time anyway, and forking a fiber per task cost ~3× the whole per-task overhead
// (bench/). A handler that waits on I/O holds its thread meanwhile — such types belong on
// `execution: "fiber"`; batch sizing (busyMs) sends slow tasks one per request. The parent
// keeps a second request queued here so the thread never idles. Cancel and the activity
// channel do not take the batch permit.
const runner = Layer.unwrapScoped(Effect.gen(function*() {
  const oneBatch = yield* Effect.makeSemaphore(1)
  const registry = BatchRun.makeRegistry()
  const outbox = yield* ActivityOutbox.make()
  const state = data.state === undefined ? undefined : ThreadState.view(data.state)
  if (state !== undefined) yield* reportHealth(state)
  // Tracing on: attempts run under spans recorded here and sent with the activity chunks.
  const tracing = data.tracing === true
  const traced: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = tracing
    ? Effect.withTracer(SpanRecorder.make(outbox.span))
    : (effect) => effect
  return WorkerRunner.layerSerialized(Protocol.Request, {
    RunBatch: (request) => {
      // Withdrawn by the pool while it waited behind another request: none of it starts.
      const withdrawn = Effect.map(outbox.flush, (activitySeq) => ({
        outcomes: request.tasks.map((t) => new Outcome.Abandoned({ id: TaskId.unsafeMake(t.id) }, { disableValidation: true })),
        busyMs: 0,
        activitySeq
      }))
      const batch = BatchRun.make(handlers, request.tasks, {
        emit: outbox.emit,
        onStart: state === undefined
          ? undefined
          : (index, task, startedAt) => ThreadState.writeTask(state, request.batch, index, startedAt, task.timeoutMs),
        tracing,
        services: context
      })
      const run = Effect.timed(traced(batch.run)).pipe(
        state === undefined ? (e) => e : Effect.ensuring(Effect.sync(() => ThreadState.writeIdle(state))),
        Effect.flatMap(([duration, outcomes]) =>
          Effect.map(outbox.flush, (activitySeq) => ({ outcomes, busyMs: Duration.toMillis(duration), activitySeq }))
        )
      )
      const taken = Effect.suspend(() => (state === undefined || ThreadState.take(state, request.batch) ? run : withdrawn))
      return BatchRun.registered(registry, batch, oneBatch.withPermits(1)(taken))
    },
    Cancel: (request) => BatchRun.cancel(registry, request.ids),
    OpenActivity: () => outbox.open()
  })
})).pipe(Layer.provide(NodeWorkerRunner.layer))

// The documented bridge: a thread's entrypoint runs its program. The runner returns when it is
// told to stop; then the handlers' services are released.
WorkerRunner.launch(runner).pipe(Effect.ensuring(Scope.close(services, Exit.void)), NodeRuntime.runMain)
