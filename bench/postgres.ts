/**
 * troupe on PostgreSQL (127.0.0.1:5432; TROUPE_BENCH_PG for another admin URL), side by side in
 * one run with SQLite and with the peers that run on PostgreSQL, graphile-worker and pg-boss
 * (bench/peers: `cd bench/peers && npm install`; skipped with a note when not installed), each on
 * a new database:
 * - drain: 20,000 durable no-op tasks submitted at once, then run — troupe with 1 node and with 3
 *   (separate processes, 2 worker threads each, bench/pgNode.ts) fed by a producer process, and
 *   in one process (fibers, threads) next to SQLite; the peers with their defaults and one
 *   faster setting each (bench/peers says which);
 * - bulk enqueue: 50,000 tasks in submitMany calls of 10,000 with no node running;
 * - idle submit → start across processes: a producer submits one task at a time to idle nodes,
 *   p50 and p95 of submit → handler start (wall clock, one host).
 * Prints figures and the machine; asserts nothing.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as crypto from "node:crypto"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Pg from "pg"
import * as Troupe from "../src/runtime/Troupe.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { throughputOf } from "./e2e.js"
import { Noop, Stamp, StampFiber } from "./e2eHandlers.js"
import { describeMachine, median, percentile } from "./machine.js"

const TASKS = Number(process.env["BENCH_TASKS"] ?? 20_000)
const admin = process.env["TROUPE_BENCH_PG"] ?? "postgres://root@127.0.0.1:5432/test"
const nodeScript = fileURLToPath(new URL("./pgNode.js", import.meta.url))
const wallNow = () => performance.timeOrigin + performance.now()

/** Runs `body` on a new database, dropped afterwards. */
const onFreshDatabase = async <A>(body: (url: string) => Promise<A>): Promise<A> => {
  const name = `troupe_bench_${crypto.randomBytes(4).toString("hex")}`
  const client = new Pg.Client({ connectionString: admin })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
    try {
      return await body(admin.replace(/\/[^/]*$/, `/${name}`))
    } finally {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  } finally {
    await client.end()
  }
}

/** Starts a node process and resolves once its runtime is up. */
const startNode = (url: string) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, [nodeScript, url], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes("READY")) resolve(child)
    })
    child.on("exit", (code) => reject(new Error(`node exited (${code})`)))
  })

const stopNodes = (nodes: ReadonlyArray<ChildProcess>) =>
  Promise.all(nodes.map((node) => new Promise<void>((done) => {
    node.removeAllListeners("exit")
    node.once("exit", () => done())
    node.kill("SIGTERM")
  })))

/** `n` nodes on `url` (the first alone: it migrates), for `body`, stopped after. */
const withNodes = async <A>(url: string, n: number, body: () => Promise<A>): Promise<A> => {
  const nodes = n === 0 ? [] : [await startNode(url)]
  nodes.push(...await Promise.all(Array.from({ length: Math.max(0, n - 1) }, () => startNode(url))))
  try {
    return await body()
  } finally {
    await stopNodes(nodes)
  }
}

/** A producer process's runtime (no handlers: it stores tasks, the nodes run them). */
const producer = <A, E>(url: string, effect: Effect.Effect<A, E, TaskQueue>, pollInterval: Duration.DurationInput = "1 second") =>
  Effect.runPromise(Effect.provide(effect, Troupe.layer({ database: url, pollInterval })) as Effect.Effect<A, unknown>)

const completedIn = async (url: string) => {
  const client = new Pg.Client({ connectionString: url })
  await client.connect()
  try {
    return Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM tasks WHERE status = 'completed'")).rows[0]!.n)
  } finally {
    await client.end()
  }
}

/** 20,000 no-op tasks submitted by the producer, drained by `n` nodes: tasks/s from the submit to the last completion. */
const drainOnNodes = (n: number) =>
  onFreshDatabase((url) =>
    withNodes(url, n, async () => {
      const t0 = performance.now()
      await producer(url, Effect.flatMap(TaskQueue, (queue) =>
        Effect.forEach(Array.from({ length: Math.ceil(TASKS / 5000) }, (_, k) => k * 5000), (from) =>
          queue.submitMany(Array.from({ length: Math.min(5000, TASKS - from) }, (_, i) => ({ definition: Noop, payload: { n: from + i } }))), { discard: true })))
      while ((await completedIn(url)) < TASKS) await new Promise((r) => setTimeout(r, 10))
      return TASKS / ((performance.now() - t0) / 1000)
    }))

/** Bulk enqueue with no node running: 50,000 tasks, submitMany calls of 10,000. */
const bulkEnqueue = () =>
  onFreshDatabase((url) =>
    withNodes(url, 1, () => Promise.resolve()).then(() =>
      producer(url, Effect.flatMap(TaskQueue, (queue) =>
        Effect.gen(function*() {
          const t0 = performance.now()
          for (let from = 0; from < 50_000; from += 10_000) {
            yield* queue.submitMany(Array.from({ length: 10_000 }, (_, i) => ({ definition: Noop, payload: { n: from + i } })))
          }
          return 50_000 / ((performance.now() - t0) / 1000)
        })))))

/**
 * Idle nodes; a producer submits one task at a time: submit → handler start, across processes,
 * for a handler on a worker thread (`stamp`) or in the node's main thread (`stampFiber`, as the
 * peers run theirs).
 */
const idleAcrossNodes = (n: number, definition: typeof Stamp | typeof StampFiber) =>
  onFreshDatabase((url) =>
    withNodes(url, n, () =>
      producer(url, Effect.flatMap(TaskQueue, (queue) =>
        Effect.gen(function*() {
          for (let i = 0; i < 20; i++) yield* queue.await(definition, yield* queue.submit(definition, { n: i }))
          const latencies: Array<number> = []
          for (let i = 0; i < 100; i++) {
            const before = wallNow()
            const started = yield* queue.await(definition, yield* queue.submit(definition, { n: i }))
            latencies.push(started - before)
          }
          return { p50: percentile(latencies, 50), p95: percentile(latencies, 95) }
        })), "5 millis")))

interface PeerFigures {
  readonly enqueuePerSecond: number
  readonly totalPerSecond: number
  readonly idleLatencyP50Ms: number
  readonly idleLatencyP95Ms: number
  readonly concurrency10?: { readonly totalPerSecond: number }
  readonly batched?: { readonly totalPerSecond: number }
  readonly notify?: { readonly idleLatencyP50Ms: number; readonly idleLatencyP95Ms: number }
  readonly defaultJobs?: number
}

const peer = async (file: string): Promise<PeerFigures | string> => {
  try {
    const mod = await import(new URL(`../../bench/peers/${file}`, import.meta.url).href) as { measure: (o: { url: string; jobs: number }) => Promise<PeerFigures> }
    return await onFreshDatabase((url) => mod.measure({ url, jobs: TASKS }))
  } catch (e) {
    return `not measured (${e instanceof Error ? e.message.split("\n")[0] : String(e)}; run \`cd bench/peers && npm install\`)`
  }
}

const rate = (x: number) => `${x.toFixed(0).padStart(7)} tasks/s`

export const run = async () => {
  console.log(`\n## troupe on PostgreSQL: nodes, SQLite and the peers (${TASKS.toLocaleString()} durable no-op tasks)`)
  console.log(describeMachine())
  // One process: submitMany and drain in the same runtime, SQLite vs PostgreSQL.
  for (const execution of ["fibers", "threads"] as const) {
    const sqlite: Array<number> = []
    const postgres: Array<number> = []
    for (let round = 0; round < 3; round++) {
      sqlite.push(await throughputOf(execution, TASKS))
      postgres.push(await onFreshDatabase((url) => throughputOf(execution, TASKS, url)))
    }
    const [s, p] = [median(sqlite), median(postgres)]
    console.log(`one process, ${execution.padEnd(7)}: SQLite ${rate(s)} · PostgreSQL ${rate(p)} (${(p / s).toFixed(2)}×)`)
  }
  // Separate processes: a producer and 1 or 3 nodes.
  const drains = new Map<number, number>()
  for (const n of [1, 2, 3]) {
    const runs = [await drainOnNodes(n), await drainOnNodes(n)]
    drains.set(n, median(runs))
    console.log(`producer + ${n} node(s), 2 threads each: ${rate(median(runs))} (runs ${runs.map((x) => x.toFixed(0)).join(", ")})`)
  }
  const enqueue = await bulkEnqueue()
  console.log(`bulk enqueue (submitMany of 10,000, no node running): ${rate(enqueue)} (target ≥ 50,000)`)
  for (const [n, definition, where] of [[1, StampFiber, "in-process"], [3, StampFiber, "in-process"], [3, Stamp, "on a thread"]] as const) {
    const idle = await idleAcrossNodes(n, definition)
    console.log(`idle submit → start, producer process → ${n === 1 ? "1 node" : `one of ${n} nodes`}, handler ${where}: p50 ${idle.p50.toFixed(2)} ms, p95 ${idle.p95.toFixed(2)} ms (target p50 ≤ 3 ms)`)
  }

  const graphile = await peer("graphile.mjs")
  const pgboss = await peer("pgboss.mjs")
  console.log("\npeers on the same PostgreSQL (their defaults; a faster setting in brackets):")
  if (typeof graphile === "string") console.log(`  graphile-worker: ${graphile}`)
  else {
    console.log(`  graphile-worker: enqueue ${rate(graphile.enqueuePerSecond)}, enqueue+drain ${rate(graphile.totalPerSecond)} [concurrency 10: ${rate(graphile.concurrency10?.totalPerSecond ?? Number.NaN)}], idle p50 ${graphile.idleLatencyP50Ms.toFixed(1)} ms`)
    const one = drains.get(1)!
    console.log(`  troupe 1 node / graphile-worker (defaults): ${(one / graphile.totalPerSecond).toFixed(1)}× (target ≥ 3×); 3 nodes: ${(drains.get(3)! / graphile.totalPerSecond).toFixed(1)}×`)
  }
  if (typeof pgboss === "string") console.log(`  pg-boss: ${pgboss}`)
  else {
    console.log(`  pg-boss: enqueue ${rate(pgboss.enqueuePerSecond)}, enqueue+drain ${rate(pgboss.totalPerSecond)} (defaults, ${pgboss.defaultJobs ?? "?"} jobs: one fetch per 2 s poll) [batchSize 100: ${rate(pgboss.batched?.totalPerSecond ?? Number.NaN)}], idle p50 ${pgboss.idleLatencyP50Ms.toFixed(1)} ms [LISTEN/NOTIFY on: ${pgboss.notify?.idleLatencyP50Ms.toFixed(1) ?? "?"} ms]`)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run()
