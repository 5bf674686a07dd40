/**
 * What an outstanding `await` costs: heap per waiting task with 10,000 awaits on a paused
 * queue (SQLite file), next to 10,000 fibers each waiting on a bare Deferred (the floor of
 * "a fiber that waits") in the same run, and the store reads they cause per poll interval.
 * Prints figures and the machine; asserts nothing.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { pathToFileURL, fileURLToPath } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { NoopFiber } from "./e2eHandlers.js"
import { describeMachine, median } from "./machine.js"
import { tmpDb } from "./raw.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

const heapAfterGc = Effect.sync(() => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
})

/** Heap per waiting fiber: `count` fibers each on its own Deferred. */
const bareWaiters = (count: number) =>
  Effect.gen(function*() {
    const before = yield* heapAfterGc
    const latches = yield* Effect.forEach(Array.from({ length: count }), () => Deferred.make<void>())
    const fibers = yield* Effect.forEach(latches, (d) => Effect.fork(Deferred.await(d)))
    yield* Effect.yieldNow()
    const after = yield* heapAfterGc
    yield* Effect.forEach(latches, (d) => Deferred.succeed(d, undefined), { discard: true })
    yield* Fiber.joinAll(fibers)
    return (after - before) / count
  })

/** Heap per outstanding `await` of a task that cannot run yet (the queue is paused). */
const awaits = (count: number) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    yield* queue.pause({ queue: true })
    const ids = []
    for (let i = 0; i < count; i += 1000) {
      ids.push(...yield* queue.submitMany(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ definition: NoopFiber, payload: { n: i + j } }))))
    }
    const before = yield* heapAfterGc
    const fibers = yield* Effect.forEach(ids, (id) => Effect.fork(queue.await(NoopFiber, id)))
    // Let every await register and read its task once.
    yield* Effect.sleep("500 millis")
    const after = yield* heapAfterGc
    yield* queue.resume({ queue: true })
    yield* Fiber.joinAll(fibers)
    return (after - before) / count
  })

export const run = async () => {
  const count = Number(process.env["BENCH_AWAITS"] ?? 10_000)
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  console.log(`\n# outstanding awaits, ${count} at once, median of ${runs} — ${describeMachine()}`)
  const bare: Array<number> = []
  const troupe: Array<number> = []
  for (let r = 0; r < runs; r++) {
    bare.push(await Effect.runPromise(bareWaiters(count)))
    troupe.push(await Effect.runPromise(Effect.scoped(
      Effect.flatMap(Layer.build(Troupe.layer({ database: tmpDb(), handlersModule, workers: 1 })), (ctx) => Effect.provide(awaits(count), ctx))
    )))
  }
  console.log(`  a fiber waiting on a Deferred (floor)      ${(median(bare) / 1024).toFixed(2).padStart(6)} KiB each`)
  console.log(`  TaskQueue.await, task not finished         ${(median(troupe) / 1024).toFixed(2).padStart(6)} KiB each   (the caller's fiber included; store reads: shared, none per await)`)
  console.log(`  troupe's own, over the waiting fiber       ${((median(troupe) - median(bare)) / 1024).toFixed(2).padStart(6)} KiB each   (target ≤ 2 KiB)`)
  return { bare: median(bare), await: median(troupe) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
