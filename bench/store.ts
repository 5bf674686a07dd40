/**
 * The store alone: troupe's SQLite TaskStore (group commit, multi-row statements) doing
 * insert + claim + complete for N tasks from concurrent fibers, next to raw better-sqlite3
 * batched (the ceiling) and one transaction per transition (no group commit).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import * as RetryPolicy from "../src/domain/RetryPolicy.js"
import type { NewTask } from "../src/domain/Task.js"
import * as TaskId from "../src/domain/TaskId.js"
import { TaskStore } from "../src/services/TaskStore.js"
import { layerSqlite } from "../src/services/TaskStoreSqlite.js"
import { describeMachine, median } from "./machine.js"
import { rawBatched, rawPerTransition, tmpDb } from "./raw.js"

const task = (n: number): NewTask => ({
  id: TaskId.unsafeMake(`t${n}`),
  type: "noop",
  payload: { n },
  priority: 10,
  status: "pending",
  retry: RetryPolicy.defaults,
  timeoutMs: null,
  runAt: 0,
  rank: n,
  key: null,
  idempotencyKey: null,
  createdAt: 0
})

/** `producers` fibers insert in batches of 100 while `workers` fibers claim 64 and complete them. */
const troupeStore = (count: number, producers = 20, workers = 4) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const start = performance.now()
    const perProducer = Math.ceil(count / producers)
    yield* Effect.forEach(Array.from({ length: producers }, (_, p) => p), (p) =>
      Effect.forEach(Array.from({ length: Math.ceil(perProducer / 100) }, (_, b) => b), (b) =>
        store.insert(Array.from({ length: 100 }, (_, i) => task(p * perProducer + b * 100 + i)).filter((t) => Number(t.id.slice(1)) < count)),
        { discard: true }), { concurrency: "unbounded", discard: true })
    let done = 0
    let token = 0
    yield* Effect.forEach(Array.from({ length: workers }, (_, w) => w), () =>
      Effect.gen(function*() {
        for (;;) {
          const ready = yield* store.ready(64)
          if (ready.length === 0) return
          const claimed = yield* store.claim(ready.map((r) => r.id), { owner: "bench", token: `k${++token}`, expiresAt: 1e15, now: 1 })
          const completed = yield* store.complete(claimed.map((c) => ({ id: c.id, token: c.token, result: null })), 2)
          done += completed.length
        }
      }), { concurrency: "unbounded", discard: true })
    if (done !== count) throw new Error(`expected ${count} completions, got ${done}`)
    return count / ((performance.now() - start) / 1000)
  })

export const run = async () => {
  const count = Number(process.env["BENCH_TASKS"] ?? 20_000)
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  const ours: Array<number> = []
  const full: Array<number> = []
  const batched: Array<number> = []
  const single: Array<number> = []
  for (let r = 0; r < runs; r++) {
    batched.push(rawBatched(count))
    single.push(rawPerTransition(Math.min(count, 5000)))
    ours.push(await Effect.runPromise(Effect.scoped(Effect.flatMap(Layer.build(layerSqlite({ filename: tmpDb() })), (ctx) =>
      Effect.provide(troupeStore(count), ctx)))))
    full.push(await Effect.runPromise(Effect.scoped(Effect.flatMap(Layer.build(layerSqlite({ filename: tmpDb(), durability: "full" })), (ctx) =>
      Effect.provide(troupeStore(count), ctx)))))
  }
  console.log(`\n# store: insert + claim + complete, ${count} tasks, median of ${runs} — ${describeMachine()}`)
  console.log(`  raw better-sqlite3, batched transactions (ceiling)  ${median(batched).toFixed(0).padStart(8)} tasks/s`)
  console.log(`  raw better-sqlite3, one transaction per transition  ${median(single).toFixed(0).padStart(8)} tasks/s`)
  console.log(`  troupe SqliteTaskStore, group commit                ${median(ours).toFixed(0).padStart(8)} tasks/s   (durability "normal")`)
  console.log(`  troupe SqliteTaskStore, durability "full"           ${median(full).toFixed(0).padStart(8)} tasks/s   (synchronous=FULL: fsync per commit)`)
  return { batched: median(batched), perTransition: median(single), troupe: median(ours), full: median(full) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
