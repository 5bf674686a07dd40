/**
 * End-to-end benchmarks of the runtime on SQLite: durable throughput (fiber and worker-thread
 * execution) next to a raw better-sqlite3 ceiling, idle submit → start latency, and memory
 * with a large pending backlog. Prints figures and the machine; asserts nothing.
 */
import * as Effect from "effect/Effect"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import { TaskEvents } from "../src/services/events/TaskEvents.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { Hold, Noop, NoopFiber, Stamp } from "./e2eHandlers.js"
import { submitAndDrain } from "./drain.js"
import { describeMachine, median, percentile } from "./machine.js"
import { rawBatched, tmpDb } from "./raw.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))
const wallNow = () => performance.timeOrigin + performance.now()

const runtime = (database: string, extra: Partial<Troupe.Options> = {}) =>
  Troupe.layer({ database, handlersModule, workers: 2, shutdownTimeout: 0, ...extra })

/** submitMany N no-op tasks, then drain; tasks/s from the first submit to the last completion. */
const throughput = (definition: typeof Noop | typeof NoopFiber, count: number) =>
  Effect.map(submitAndDrain(definition, count, (n) => ({ n })), (msPerTask) => 1000 / msPerTask)

/** One task at a time on an idle runtime: submit (durable) → handler start on a worker thread. */
const idleLatency = (samples: number) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    // Warm up the threads and statements.
    for (let i = 0; i < 20; i++) yield* queue.await(Stamp, yield* queue.submit(Stamp, { n: i }))
    const latencies: Array<number> = []
    for (let i = 0; i < samples; i++) {
      const before = wallNow()
      const id = yield* queue.submit(Stamp, { n: i })
      const started = yield* queue.await(Stamp, id)
      latencies.push(started - before)
    }
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
  })

/** RSS after GC with `small` and then `large` tasks pending behind a busy executor. */
const backlogMemory = (small: number, large: number) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    const gc = (globalThis as { gc?: () => void }).gc
    const rss = () => {
      gc?.()
      return process.memoryUsage().rss / 2 ** 20
    }
    const fill = (from: number, to: number) =>
      Effect.forEach(
        Array.from({ length: Math.ceil((to - from) / 2000) }, (_, k) => from + k * 2000),
        (i) => queue.submitMany(Array.from({ length: Math.min(2000, to - i) }, (_, j) => ({ definition: Hold, payload: { n: i + j } }))),
        { discard: true }
      )
    yield* fill(0, small)
    const atSmall = rss()
    yield* fill(small, large)
    const atLarge = rss()
    return { atSmall, atLarge, gc: gc !== undefined }
  })

/**
 * Durable no-op throughput in a fresh runtime (for peers' benchmarks, bench/peers), on a new
 * SQLite file or on `database` (a postgres:// URL of an empty database).
 */
export const throughputOf = (execution: "threads" | "fibers", count: number, database: string = tmpDb()): Promise<number> =>
  runIn(database, throughput(execution === "threads" ? Noop : NoopFiber, count))

const runIn = <A, E>(database: string, effect: Effect.Effect<A, E, TaskQueue | TaskEvents>, extra: Partial<Troupe.Options> = {}) =>
  Effect.runPromise(Effect.provide(effect, runtime(database, extra)) as Effect.Effect<A, unknown>)

export const run = async () => {
  const count = Number(process.env["BENCH_TASKS"] ?? 20_000)
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  console.log(`\n# end to end (SQLite, durable) — ${describeMachine()}`)
  const fiber: Array<number> = []
  const thread: Array<number> = []
  const raw: Array<number> = []
  for (let r = 0; r < runs; r++) {
    raw.push(rawBatched(count))
    fiber.push(await runIn(tmpDb(), throughput(NoopFiber, count)))
    thread.push(await runIn(tmpDb(), throughput(Noop, count)))
  }
  console.log(`no-op tasks, submitMany ${count} then drain, median of ${runs}:`)
  console.log(`  raw better-sqlite3 ceiling (insert+claim+complete, batched) ${median(raw).toFixed(0).padStart(8)} tasks/s`)
  console.log(`  troupe, fiber execution                                      ${median(fiber).toFixed(0).padStart(8)} tasks/s   (target ≥ 20,000)`)
  console.log(`  troupe, worker threads (2)                                   ${median(thread).toFixed(0).padStart(8)} tasks/s   (target ≥ 10,000)`)

  const latency = await runIn(tmpDb(), idleLatency(300))
  console.log(`idle latency, submit (durable) → handler start on a worker thread: p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms   (targets 1 / 5 ms)`)

  const memory = await runIn(tmpDb(), backlogMemory(10_000, 100_000), { fiberConcurrency: 1 })
  console.log(`RSS with pending backlog: ${memory.atSmall.toFixed(0)} MiB at 10,000 pending → ${memory.atLarge.toFixed(0)} MiB at 100,000 pending${memory.gc ? "" : " (run with --expose-gc for steadier figures)"}`)
  return { raw: median(raw), fiber: median(fiber), thread: median(thread), latency, memory }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
