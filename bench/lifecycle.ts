/**
 * Lifecycle benchmarks on SQLite: throughput with 10% of tasks carrying a dependency next to
 * the same workload without any, the cost of 1,000 `watch` subscribers, and how progress from
 * one busy handler is coalesced before it reaches the store. Prints figures and the machine;
 * asserts nothing.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import { Activity } from "../src/services/Activity.js"
import { TaskEvents } from "../src/services/TaskEvents.js"
import { TaskQueue } from "../src/services/TaskQueue.js"
import { Chatty, NoopFiber } from "./e2eHandlers.js"
import { describeMachine, median } from "./machine.js"
import { tmpDb } from "./raw.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

const runIn = <A, E>(effect: Effect.Effect<A, E, TaskQueue | TaskEvents | Activity>) =>
  Effect.runPromise(Effect.provide(effect, Troupe.layer({ database: tmpDb(), handlersModule, workers: 2 })) as Effect.Effect<A, unknown>)

/** Submits `count` no-op tasks in chunks of 1,000 (every 10th depending on the one before it when `deps`), then drains. */
const drainWith = (count: number, deps: boolean, watchers: number) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    const events = yield* TaskEvents
    const sub = yield* events.subscribe
    const start = performance.now()
    const watching: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    for (let i = 0; i < count; i += 1000) {
      const items = Array.from({ length: Math.min(1000, count - i) }, (_, j) => {
        const n = i + j
        return {
          definition: NoopFiber,
          payload: { n },
          options: { id: `t${n}`, ...(deps && n % 10 === 9 ? { dependsOn: [`t${n - 1}`] } : {}) }
        }
      })
      const ids = yield* queue.submitMany(items)
      // Watchers subscribe to tasks spread over the run.
      for (const id of ids) {
        if (watching.length < watchers && Number(id.slice(1)) % Math.max(1, Math.floor(count / watchers)) === 0) {
          watching.push(yield* Effect.fork(Stream.runDrain(queue.watch(id))))
        }
      }
    }
    let done = 0
    while (done < count) {
      for (const e of yield* Queue.takeBetween(sub, 1, Number.MAX_SAFE_INTEGER)) if (e._tag === "StatusChanged" && e.status === "completed") done++
    }
    const elapsed = performance.now() - start
    yield* Effect.forEach(watching, Fiber.join, { discard: true })
    return { perSecond: count / (elapsed / 1000), watchers: watching.length }
  }).pipe(Effect.scoped)

/** One handler on a worker thread reports progress `reports` times; what reached whom. */
const progressFlood = (reports: number) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    const activity = yield* Activity
    const id = yield* queue.submit(Chatty, { reports })
    let watched = 0
    const watcher = yield* Effect.fork(Stream.runForEach(queue.watch(id), (e) => Effect.sync(() => e._tag === "Progress" && watched++)))
    const handlerMs = yield* queue.await(Chatty, id)
    yield* Fiber.join(watcher)
    // Let the periodic flush run once more.
    yield* Effect.sleep("1100 millis")
    const counters = yield* activity.counters
    return { handlerMs, watched, ...counters }
  })

export const run = async () => {
  const count = Number(process.env["BENCH_TASKS"] ?? 20_000)
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  console.log(`\n# lifecycle (SQLite, durable, in-process no-op tasks) — ${describeMachine()}`)
  const plain: Array<number> = []
  const withDeps: Array<number> = []
  const watched: Array<number> = []
  for (let r = 0; r < runs; r++) {
    plain.push((await runIn(drainWith(count, false, 0))).perSecond)
    withDeps.push((await runIn(drainWith(count, true, 0))).perSecond)
    watched.push((await runIn(drainWith(count, false, 1000))).perSecond)
  }
  const base = median(plain)
  const pct = (x: number) => `${((x / base - 1) * 100).toFixed(0)}%`
  console.log(`${count} tasks, submitMany then drain, median of ${runs}:`)
  console.log(`  no dependencies (baseline)                 ${base.toFixed(0).padStart(8)} tasks/s`)
  console.log(`  10% of tasks depend on the task before     ${median(withDeps).toFixed(0).padStart(8)} tasks/s   (${pct(median(withDeps))})`)
  console.log(`  1,000 watch subscribers on tasks of the run ${median(watched).toFixed(0).padStart(7)} tasks/s   (${pct(median(watched))})`)

  const reports = Number(process.env["BENCH_PROGRESS"] ?? 200_000)
  const flood = await runIn(progressFlood(reports))
  console.log(`progress from one busy handler on a worker thread: ${reports} ctx.progress calls in ${flood.handlerMs.toFixed(0)} ms ` +
    `(${(reports / (flood.handlerMs / 1000)).toFixed(0)}/s)`)
  console.log(`  reached the main thread: ${flood.progressReceived} · published to subscribers: ${flood.progressPublished} · ` +
    `seen by a watch: ${flood.watched} · written to the store: ${flood.progressStored}`)
  return { base, withDeps: median(withDeps), watched: median(watched), flood }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
