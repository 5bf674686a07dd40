/**
 * The worker-thread entrypoint. It loads the handlers module named in workerData (re-read on
 * every respawn) and serves RunBatch requests: one request carries many tasks, each with its
 * own Outcome. Only Schema-encoded data crosses the boundary.
 */
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { pathToFileURL } from "node:url"
import * as WorkerThreads from "node:worker_threads"
import * as Handlers from "./Handlers.js"
import * as Protocol from "./Protocol.js"
import * as RunTask from "./runTask.js"

const data = WorkerThreads.workerData as Protocol.WorkerData

const load = Effect.tryPromise({
  try: () =>
    import(data.handlersModule.startsWith("file:") ? data.handlersModule : pathToFileURL(data.handlersModule).href) as Promise<
      { readonly default?: unknown }
    >,
  catch: (cause) => new Error(`cannot load handlers module ${data.handlersModule}: ${String(cause)}`)
}).pipe(
  Effect.filterOrFail(
    (mod): mod is { readonly default: Handlers.Handlers } => Handlers.isHandlers(mod.default),
    () => new Error(`handlers module ${data.handlersModule} must default-export Handlers.make(...)`)
  ),
  Effect.map((mod) => mod.default)
)

// One batch at a time per thread, its tasks one after another: a thread runs one CPU task at
// a time anyway, and forking a fiber per task cost ~3× the whole per-task overhead (bench/).
// A handler that waits on I/O holds its thread meanwhile — such types belong on
// `execution: "fiber"`; batch sizing (busyMs) sends slow tasks one per request. The parent
// keeps a second request queued here so the thread never idles.
const runner = Layer.unwrapEffect(Effect.gen(function*() {
  const handlers = yield* load
  const oneBatch = yield* Effect.makeSemaphore(1)
  return WorkerRunner.layerSerialized(Protocol.Request, {
    RunBatch: (request) =>
      Effect.timed(
        Effect.forEach(request.tasks, (task) => RunTask.runTask(handlers, task, RunTask.logOnly))
      ).pipe(
        Effect.map(([duration, outcomes]) => ({ outcomes, busyMs: Duration.toMillis(duration) })),
        oneBatch.withPermits(1)
      )
  })
})).pipe(Layer.provide(NodeWorkerRunner.layer))

// The documented bridge: a thread's entrypoint runs its program.
WorkerRunner.launch(runner).pipe(NodeRuntime.runMain)
