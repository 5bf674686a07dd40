/**
 * The store alone: troupe's SQLite TaskStore (group commit, multi-row statements) doing
 * insert + claim + complete for N tasks from concurrent fibers, next to raw better-sqlite3
 * batched in transactions (the ceiling: a bare table, no Effect) and raw better-sqlite3 with
 * one transaction per transition (what a store without group commit gets); and what one status
 * change costs on the store's own schema with SQLite's temporary b-trees on file or in memory.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/store.js
 *   BENCH_TASKS=20000 BENCH_RUNS=3 (defaults)
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import * as RetryPolicy from "../src/domain/RetryPolicy.js"
import type { NewTask } from "../src/domain/Task.js"
import * as TaskId from "../src/domain/TaskId.js"
import { TaskStore } from "../src/services/store/TaskStore.js"
import { layerSqlite } from "../src/services/store/TaskStoreSqlite.js"
import { describeMachine, median } from "./machine.js"
import { rawBatched, rawPerTransition, statusChangeMicros, tmpDb } from "./raw.js"

const PRODUCERS = 100
const CLAIM_BATCH = 64
const WORKERS = 4
/** Submit-like batch sizes: a producer cycles through 1..16 tasks per insert. */
const MAX_SUBMIT = 16

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
  createdAt: 0,
  dependsOn: [],
  resources: null,
  traceParent: null
})

export interface StoreRun {
  /** End to end: all inserts, then every task claimed and completed. */
  readonly tasksPerSec: number
  readonly insertPerSec: number
  readonly claimCompletePerSec: number
}

/**
 * PRODUCERS fibers insert count / PRODUCERS tasks each in batches of 1..MAX_SUBMIT; then WORKERS
 * fibers loop ready(64) → claim → complete until nothing is pending.
 */
const troupeStore = (count: number) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const perProducer = Math.ceil(count / PRODUCERS)
    const start = performance.now()
    yield* Effect.forEach(Array.from({ length: PRODUCERS }, (_, p) => p), (p) =>
      Effect.gen(function*() {
        const first = p * perProducer
        const end = Math.min(count, first + perProducer)
        for (let n = first, b = 0; n < end; b++) {
          const size = Math.min(end - n, 1 + ((p + b) % MAX_SUBMIT))
          yield* store.insert(Array.from({ length: size }, (_, i) => task(n + i)))
          n += size
        }
      }), { concurrency: "unbounded", discard: true })
    const inserted = performance.now()
    let done = 0
    let token = 0
    yield* Effect.forEach(Array.from({ length: WORKERS }, (_, w) => w), () =>
      Effect.gen(function*() {
        for (;;) {
          const ready = yield* store.ready(CLAIM_BATCH)
          if (ready.length === 0) return
          const claimed = yield* store.claim(ready.map((r) => r.id), { owner: "bench", token: `k${++token}`, expiresAt: 1e15, now: 1 })
          const completed = yield* store.complete(claimed.map((c) => ({ id: c.id, token: c.token, result: null })), 2)
          done += completed.ids.length
        }
      }), { concurrency: "unbounded", discard: true })
    const end = performance.now()
    if (done !== count) return yield* Effect.dieMessage(`expected ${count} completions, got ${done}`)
    return {
      tasksPerSec: count / ((end - start) / 1000),
      insertPerSec: count / ((inserted - start) / 1000),
      claimCompletePerSec: count / ((end - inserted) / 1000)
    } satisfies StoreRun
  })

/** One run on a fresh temporary file, removed afterwards. */
const onFreshFile = (count: number, durability: "normal" | "full") =>
  Effect.acquireUseRelease(
    Effect.sync(tmpDb),
    (filename) =>
      Effect.scoped(Effect.flatMap(Layer.build(layerSqlite({ filename, durability })), (ctx) =>
        troupeStore(count).pipe(Effect.provideService(TaskStore, Context.get(ctx, TaskStore))))),
    (filename) => Effect.sync(() => fs.rmSync(path.dirname(filename), { recursive: true, force: true }))
  )

/** A file of `count` pending tasks written by the store itself (its schema and indexes). */
const storeFile = (count: number) =>
  Effect.gen(function*() {
    const filename = tmpDb()
    yield* Effect.scoped(Effect.flatMap(Layer.build(layerSqlite({ filename })), (ctx) =>
      Effect.forEach(Array.from({ length: Math.ceil(count / 1000) }, (_, c) => c), (c) =>
        Context.get(ctx, TaskStore).insert(Array.from({ length: Math.min(1000, count - c * 1000) }, (_, i) => task(c * 1000 + i))), { discard: true })))
    return filename
  })

const medianOf = (runs: ReadonlyArray<StoreRun>): StoreRun => ({
  tasksPerSec: median(runs.map((r) => r.tasksPerSec)),
  insertPerSec: median(runs.map((r) => r.insertPerSec)),
  claimCompletePerSec: median(runs.map((r) => r.claimCompletePerSec))
})

export interface StoreBench {
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string }
  readonly tasks: number
  readonly runs: number
  readonly rawBatched: number
  readonly rawPerTransition: number
  readonly troupe: StoreRun
  readonly troupeFull: StoreRun
  readonly statusChange: { readonly file: number; readonly fileMax: number; readonly memory: number; readonly memoryMax: number }
}

export const run = async (): Promise<StoreBench> => {
  const count = Number(process.env["BENCH_TASKS"] ?? 20_000)
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  const batched: Array<number> = []
  const single: Array<number> = []
  const ours: Array<StoreRun> = []
  const full: Array<StoreRun> = []
  const tempFile: Array<number> = []
  const tempMemory: Array<number> = []
  const written = await Effect.runPromise(storeFile(count))
  for (let r = 0; r < runs; r++) {
    batched.push(rawBatched(count))
    single.push(rawPerTransition(count))
    ours.push(await Effect.runPromise(onFreshFile(count, "normal")))
    full.push(await Effect.runPromise(onFreshFile(count, "full")))
    for (let k = 0; k < 3; k++) {
      tempFile.push(statusChangeMicros(written, "FILE"))
      tempMemory.push(statusChangeMicros(written, "MEMORY"))
    }
  }
  const result: StoreBench = {
    machine: { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.availableParallelism(), node: process.version },
    tasks: count,
    runs,
    rawBatched: median(batched),
    rawPerTransition: median(single),
    troupe: medianOf(ours),
    troupeFull: medianOf(full),
    statusChange: { file: median(tempFile), fileMax: Math.max(...tempFile), memory: median(tempMemory), memoryMax: Math.max(...tempMemory) }
  }
  const rate = (n: number) => `${n.toFixed(0).padStart(8)} tasks/s`
  const detail = (s: StoreRun) => `(insert ${s.insertPerSec.toFixed(0)}/s, claim+complete ${s.claimCompletePerSec.toFixed(0)}/s)`
  console.log(`\n# store: insert + claim + complete, ${count} tasks, median of ${runs} — ${describeMachine()}`)
  console.log(`  ${PRODUCERS} producer fibers, submits of 1..${MAX_SUBMIT}; ${WORKERS} workers claiming ${CLAIM_BATCH} at a time`)
  console.log(`  raw better-sqlite3, batched transactions (ceiling)  ${rate(result.rawBatched)}`)
  console.log(`  raw better-sqlite3, one transaction per transition  ${rate(result.rawPerTransition)}`)
  console.log(`  troupe SqliteTaskStore, group commit                ${rate(result.troupe.tasksPerSec)}   ${detail(result.troupe)}`)
  console.log(`  troupe SqliteTaskStore, durability "full"           ${rate(result.troupeFull.tasksPerSec)}   ${detail(result.troupeFull)}`)
  console.log(`  a status change on the store's schema (raw, ${count}-task file, by id): temp_store FILE ${result.statusChange.file.toFixed(1)} µs/row (worst ${result.statusChange.fileMax.toFixed(1)}), MEMORY ${result.statusChange.memory.toFixed(1)} (worst ${result.statusChange.memoryMax.toFixed(1)}); the store sets MEMORY`)
  return result
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e: unknown) => {
    console.error(e)
    process.exit(1)
  })
}
