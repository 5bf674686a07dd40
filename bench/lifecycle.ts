/**
 * Lifecycle benchmarks on SQLite: throughput with 10% of tasks carrying a dependency next to
 * the same workload without any, the cost of 1,000 `watch` subscribers, and how progress from
 * one busy handler is coalesced before it reaches the store. Prints figures and the machine;
 * asserts nothing.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import { Activity } from "../src/services/events/Activity.js"
import type { TaskId } from "../src/domain/TaskId.js"
import { TaskEvents } from "../src/services/events/TaskEvents.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { Chatty, NoopFiber } from "./e2eHandlers.js"
import { awaitCompleted, submitAndDrain } from "./drain.js"
import { describeMachine, median } from "./machine.js"
import { tmpDb } from "./raw.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

const runIn = <A, E>(effect: Effect.Effect<A, E, TaskQueue | TaskEvents | Activity>) =>
  Effect.runPromise(Effect.provide(effect, Troupe.layer({ database: tmpDb(), handlersModule, workers: 2 })) as Effect.Effect<A, unknown>)

/** Submits `count` no-op tasks (every 10th depending on the one before it when `deps`), then drains; tasks/s. */
const drainWith = (count: number, deps: boolean) =>
  Effect.map(
    submitAndDrain(NoopFiber, count, (n) => ({ n }), (n) => ({ id: `t${n}`, ...(deps && n % 10 === 9 ? { dependsOn: [`t${n - 1}`] } : {}) })),
    (msPerTask) => 1000 / msPerTask
  )

/**
 * With the queue paused: submits `count` tasks and attaches `watchers` watch subscriptions
 * (to tasks spread over the run; the time to attach them is reported apart), then resumes and
 * times the drain.
 */
const drainWatched = (count: number, watchers: number) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    const events = yield* TaskEvents
    const sub = yield* events.subscribe
    yield* queue.pause({ queue: true })
    const ids: Array<TaskId> = []
    for (let i = 0; i < count; i += 1000) {
      ids.push(...yield* queue.submitMany(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ definition: NoopFiber, payload: { n: i + j } }))))
    }
    const attachStart = performance.now()
    const step = Math.max(1, Math.floor(count / Math.max(1, watchers)))
    // All attached at once; each counts as attached when its snapshot arrived.
    const attached = yield* Effect.forEach(
      Array.from({ length: watchers }, (_, k) => ids[k * step]!),
      (id) =>
        Effect.gen(function*() {
          const ready = yield* Deferred.make<void>()
          const fiber = yield* Effect.fork(Stream.runDrain(queue.watch(id).pipe(Stream.tap(() => Deferred.succeed(ready, undefined)))))
          return { fiber, ready }
        })
    )
    yield* Effect.forEach(attached, ({ ready }) => Deferred.await(ready), { discard: true })
    const watching = attached.map(({ fiber }) => fiber)
    const attachMs = performance.now() - attachStart
    const start = performance.now()
    yield* queue.resume({ queue: true })
    yield* awaitCompleted(sub, count)
    const perSecond = count / ((performance.now() - start) / 1000)
    yield* Effect.forEach(watching, Fiber.join, { discard: true })
    return { perSecond, attachMs }
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
  const unwatched: Array<number> = []
  const watched: Array<number> = []
  const attach: Array<number> = []
  for (let r = 0; r < runs; r++) {
    plain.push(await runIn(drainWith(count, false)))
    withDeps.push(await runIn(drainWith(count, true)))
    unwatched.push((await runIn(drainWatched(count, 0))).perSecond)
    const w = await runIn(drainWatched(count, 1000))
    watched.push(w.perSecond)
    attach.push(w.attachMs)
  }
  const pct = (x: number, base: number) => `${((x / base - 1) * 100).toFixed(0)}%`
  console.log(`${count} tasks, submitMany then drain, median of ${runs}:`)
  console.log(`  no dependencies (baseline)                ${median(plain).toFixed(0).padStart(8)} tasks/s`)
  console.log(`  10% of tasks depend on the task before    ${median(withDeps).toFixed(0).padStart(8)} tasks/s   (${pct(median(withDeps), median(plain))})`)
  console.log(`${count} tasks submitted while paused, then resumed and drained, median of ${runs}:`)
  console.log(`  no watch subscriber (baseline)            ${median(unwatched).toFixed(0).padStart(8)} tasks/s`)
  console.log(`  1,000 watch subscribers                   ${median(watched).toFixed(0).padStart(8)} tasks/s   (${pct(median(watched), median(unwatched))}); ` +
    `attaching them took ${median(attach).toFixed(0)} ms (${(median(attach)).toFixed(0)} µs each)`)

  const reports = Number(process.env["BENCH_PROGRESS"] ?? 200_000)
  const flood = await runIn(progressFlood(reports))
  console.log(`progress from one busy handler on a worker thread: ${reports} ctx.progress calls in ${flood.handlerMs.toFixed(0)} ms ` +
    `(${(reports / (flood.handlerMs / 1000)).toFixed(0)}/s)`)
  console.log(`  reached the main thread: ${flood.progressReceived} · published to subscribers: ${flood.progressPublished} · ` +
    `seen by a watch: ${flood.watched} · written to the store: ${flood.progressStored}`)
  return { plain: median(plain), withDeps: median(withDeps), unwatched: median(unwatched), watched: median(watched), flood }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
