import * as Worker from "@effect/platform/Worker"
import type { WorkerError } from "@effect/platform/WorkerError"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as os from "node:os"
import * as WorkerThreads from "node:worker_threads"
import * as Outcome from "../domain/Outcome.js"
import type { Claimed } from "../domain/Task.js"
import { TaskDefect } from "../domain/TaskErrors.js"
import * as Protocol from "../workers/Protocol.js"
import type { Executor, Ran, RunOptions } from "./Executor.js"
import * as Crash from "./worker/crash.js"

export interface Options {
  /** Path or file URL of the compiled handlers module every thread loads. */
  readonly handlersModule: string
  /** Threads: a number, "auto" (= cores) or a range (the pool runs `min` until a governor sets a target). */
  readonly size: number | "auto" | { readonly min: number; readonly max: number }
  /** Heap limit per thread (resourceLimits.maxOldGenerationSizeMb); at least 64 to boot Effect. */
  readonly heapLimitMb?: number
  /** Requests in flight per thread: 2 keeps a thread busy while the next batch is on its way. */
  readonly requestsPerWorker?: number
  /** How long a thread may take to start before the pool gives up with a clear error. */
  readonly startTimeout?: Duration.DurationInput
  /** The thread entrypoint (the compiled src/workers/main.js by default). */
  readonly entry?: string | URL
}

/** The pool could not start. */
export class WorkerPoolError extends Data.TaggedError("WorkerPoolError")<{ readonly message: string }> {}

/**
 * A supervised pool of worker threads on @effect/platform's Worker (NodeWorker spawner,
 * WorkerRunner in the thread). The pool owns its slots rather than using the platform's pool:
 * it sends one request per batch to the least-loaded live thread, never more than
 * `requestsPerWorker` at once (requests that queue inside a pool cost 4–8×, FIELD-NOTES.md),
 * and replaces a thread that dies — its in-flight attempts get WorkerCrashed outcomes.
 */
export class WorkerPool extends Context.Tag("troupe/WorkerPool")<WorkerPool, Executor & {
  /** Live threads. */
  readonly size: Effect.Effect<number>
  /** Threads replaced after a crash since start. */
  readonly replaced: Effect.Effect<number>
  /** Waits until every slot has a live thread (e.g. after a replacement). */
  readonly whenFull: Effect.Effect<void>
}>() {}

const MAX_BATCH = 64

interface Slot {
  readonly index: number
  worker: Worker.SerializedWorker<Protocol.Request> | undefined
  scope: Scope.CloseableScope | undefined
  generation: number
  requests: number
  /** Reserved by an exclusive run: no other request may join it. */
  exclusive: boolean
}

const resolveSize = (size: Options["size"]): number =>
  size === "auto" ? os.availableParallelism() : typeof size === "number" ? size : size.min

export const make = (options: Options) =>
  Effect.gen(function*() {
    const count = resolveSize(options.size)
    if (!Number.isInteger(count) || count < 1) {
      return yield* Effect.fail(new WorkerPoolError({ message: `worker pool size must be a positive integer, got ${count}` }))
    }
    const perWorker = options.requestsPerWorker ?? 2
    const startTimeout = Duration.decode(options.startTimeout ?? "30 seconds")
    const poolScope = yield* Effect.scope
    const context = yield* Effect.context<Worker.WorkerManager | Worker.Spawner>()
    const background = yield* FiberSet.make()
    const changed = yield* Queue.sliding<void>(1)
    const slots: Array<Slot> = Array.from({ length: count }, (_, index) => ({
      index,
      worker: undefined,
      scope: undefined,
      generation: 0,
      requests: 0,
      exclusive: false
    }))
    let replaced = 0
    const liveCount = yield* SubscriptionRef.make(0)
    const refreshLive = Effect.suspend(() => SubscriptionRef.set(liveCount, slots.filter((s) => s.worker !== undefined).length))

    /** Starts a thread in the slot, in a scope of its own so it can be torn down alone. */
    const spawn = (slot: Slot) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(poolScope, ExecutionStrategy.sequential)
        const worker = yield* Worker.makeSerialized<Protocol.Request>({}).pipe(
          Effect.provide(context),
          Scope.extend(scope),
          Effect.timeoutFail({
            duration: startTimeout,
            onTimeout: () =>
              new WorkerPoolError({
                message: `worker thread ${slot.index} did not start within ${Duration.format(startTimeout)}; ` +
                  `check that ${options.handlersModule} is a compiled module that default-exports Handlers.make(...)`
              })
          }),
          Effect.catchAll((e) =>
            Effect.zipRight(Scope.close(scope, Exit.void), Effect.fail(e._tag === "WorkerPoolError" ? e : new WorkerPoolError({ message: `worker thread ${slot.index} failed to start: ${e.message}` })))
          )
        )
        slot.worker = worker
        slot.scope = scope
        yield* refreshLive
        yield* Queue.offer(changed, undefined)
      })

    /** Tears a dead thread down and starts another in its slot (once per generation). */
    const replace = (slot: Slot, generation: number) =>
      Effect.suspend(() => {
        if (slot.generation !== generation) return Effect.void
        slot.generation++
        slot.worker = undefined
        const old = slot.scope
        slot.scope = undefined
        replaced++
        const restart: Effect.Effect<void> = spawn(slot).pipe(
          Effect.catchAll((e) =>
            Effect.zipRight(Effect.logError(`could not replace worker thread ${slot.index}: ${e.message}; retrying`), Effect.sleep("1 second")).pipe(
              Effect.zipRight(Effect.suspend(() => restart))
            )
          )
        )
        return Effect.zipRight(
          Effect.zipRight(refreshLive, old === undefined ? Effect.void : Scope.close(old, Exit.void)),
          FiberSet.run(background, restart)
        ).pipe(Effect.asVoid)
      })

    yield* Effect.forEach(slots, spawn, { concurrency: "unbounded", discard: true })

    /**
     * The live slot with room and the fewest requests in flight (an idle one, reserved, for an
     * exclusive run); waits when there is none.
     */
    const acquire = (exclusive: boolean): Effect.Effect<Slot> =>
      Effect.suspend(() => {
        let best: Slot | undefined
        for (const slot of slots) {
          const fits = slot.worker !== undefined && !slot.exclusive &&
            (exclusive ? slot.requests === 0 : slot.requests < perWorker)
          if (fits && (best === undefined || slot.requests < best.requests)) best = slot
        }
        if (best !== undefined) {
          best.requests++
          best.exclusive = exclusive
          return Effect.succeed(best)
        }
        return Effect.zipRight(Queue.take(changed), acquire(exclusive))
      })

    const crashedOutcomes = (batch: ReadonlyArray<Claimed>, slot: Slot, error: WorkerError) => {
      const crashed = Crash.classify(slot.index, error)
      return batch.map((task) => new Outcome.Failed({ id: task.id, error: crashed }))
    }

    const run = (batch: ReadonlyArray<Claimed>, options?: RunOptions): Effect.Effect<Ran> =>
      Effect.acquireUseRelease(
        acquire(options?.exclusive === true),
        (slot) => {
          const worker = slot.worker!
          const generation = slot.generation
          // The tasks come from the store and are valid: skip re-validating them here.
          const request = new Protocol.RunBatch({
            batch: 0,
            tasks: batch.map((t) => ({ id: t.id, type: t.type, payload: t.payload, attempt: t.attempt, timeoutMs: t.timeoutMs }))
          }, { disableValidation: true })
          return worker.executeEffect(request).pipe(
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
            Effect.catchAll((error): Effect.Effect<Ran> =>
              error._tag === "WorkerError"
                ? Effect.as(replace(slot, generation), { busyMs: 0, outcomes: crashedOutcomes(batch, slot, error) })
                : Effect.succeed({ busyMs: 0, outcomes: batch.map((task) =>
                  new Outcome.Failed({
                    id: task.id,
                    error: new TaskDefect({ reason: "decode", message: `worker reply: ${error.message}` })
                  })
                ) })
            )
          )
        },
        (slot) =>
          Effect.zipRight(
            Effect.sync(() => {
              slot.requests--
              if (slot.requests === 0) slot.exclusive = false
            }),
            Queue.offer(changed, undefined)
          )
      )

    const live = () => slots.filter((s) => s.worker !== undefined).length

    return WorkerPool.of({
      capacity: Effect.sync(() => Math.max(1, live()) * perWorker * MAX_BATCH),
      slots: Effect.sync(() => Math.max(1, live()) * perWorker),
      maxBatch: MAX_BATCH,
      run,
      interrupt: () => Effect.void,
      workers: Effect.succeed([]),
      size: Effect.sync(live),
      replaced: Effect.sync(() => replaced),
      whenFull: liveCount.changes.pipe(Stream.takeUntil((n) => n === count), Stream.runDrain)
    })
  })

const defaultEntry = () => new URL("../workers/main.js", import.meta.url)

/** The pool as a layer; threads start when the layer is built and stop when it is released. */
export const layer = (options: Options): Layer.Layer<WorkerPool, WorkerPoolError> =>
  Layer.scoped(WorkerPool, make(options)).pipe(
    Layer.provide(NodeWorker.layer(() =>
      new WorkerThreads.Worker(options.entry ?? defaultEntry(), {
        workerData: { handlersModule: options.handlersModule } satisfies Protocol.WorkerData,
        resourceLimits: { maxOldGenerationSizeMb: options.heapLimitMb ?? 256 }
      })
    ))
  )
