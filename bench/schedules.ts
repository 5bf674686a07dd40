/**
 * What schedules cost the queue (SQLite, durable): no-op fiber tasks submitted and drained with
 * no schedule, then with 200 schedules stored of which 100 fire every second during the drain
 * (their occurrences are tasks too, counted apart), alternating, median of 3 each. Also the
 * store's schedules read, the firing loop's per-round work. Prints figures and the machine;
 * asserts nothing.
 *
 *   npm run build && node dist/bench/schedules.js     (BENCH_TASKS=20000)
 */
import * as Effect from "effect/Effect"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { TaskStore } from "../src/services/store/TaskStore.js"
import { submitAndDrain } from "./drain.js"
import { NoopFiber } from "./e2eHandlers.js"
import { describeMachine, median } from "./machine.js"
import { tmpDb } from "./raw.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

const withSchedules = (count: number, firing: number) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    for (let i = 0; i < count; i++) {
      // The first `firing` every second; the rest nightly (stored, read each round, not due).
      yield* queue.schedule(`s${i}`, NoopFiber, { n: -1 }, i < firing ? { every: "1 second" } : { cron: "0 3 * * *" })
    }
  })

const drain = (schedules: number, firing: number, count: number) =>
  Effect.runPromise(Effect.provide(
    Effect.gen(function*() {
      yield* withSchedules(schedules, firing)
      const msPerTask = yield* submitAndDrain(NoopFiber, count, (n) => ({ n }))
      const store = yield* TaskStore
      const t0 = performance.now()
      for (let i = 0; i < 100; i++) yield* store.schedules
      const readMs = (performance.now() - t0) / 100
      const fired = (yield* Effect.flatMap(TaskQueue, (q) => q.list({ limit: 1000, type: "noopFiber", newestFirst: true }))).filter((t) => t.idempotencyKey !== null).length
      return { perSecond: 1000 / msPerTask, readMs, fired }
    }),
    Troupe.layer({ database: tmpDb(), handlersModule, workers: 2, shutdownTimeout: 0 })
  ) as Effect.Effect<{ perSecond: number; readMs: number; fired: number }, unknown>)

export const run = async () => {
  const count = Number(process.env["BENCH_TASKS"] ?? 20_000)
  console.log(`\n# schedules (SQLite, durable) — ${describeMachine()}`)
  const none: Array<number> = []
  const some: Array<number> = []
  let read = 0
  let fired = 0
  for (let r = 0; r < 3; r++) {
    none.push((await drain(0, 0, count)).perSecond)
    const w = await drain(200, 100, count)
    some.push(w.perSecond)
    read = w.readMs
    fired += w.fired
  }
  console.log(`no-op fiber tasks, submitMany ${count} then drain, median of 3:`)
  console.log(`  no schedules                                   ${median(none).toFixed(0).padStart(8)} tasks/s`)
  console.log(`  200 schedules, 100 firing every second         ${median(some).toFixed(0).padStart(8)} tasks/s   (${fired} occurrences fired in the 3 runs)`)
  console.log(`  reading the 200 schedules (each firing round): ${read.toFixed(2)} ms`)
  return { none: median(none), some: median(some), readMs: read }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
