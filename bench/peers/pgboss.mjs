/**
 * pg-boss on the local PostgreSQL, a peer for troupe's Postgres figures. On a fresh database
 * (troupe_peer_<random>, dropped afterwards) it measures, with no-op jobs:
 *   - enqueue: N jobs through boss.insert(name, jobs), 1,000 per call (jobs/s);
 *   - drain: from work() to the last completion, confirmed in the database (no job of the queue
 *     left below state 'completed') (jobs/s); total = jobs / (enqueue + drain);
 *   - idle submit → start: one job at a time (send, then wait for the handler), 50 times, each after
 *     a random 0–2 s pause so the 2 s poll is met at a random phase; p50/p95 ms.
 * Library defaults: createQueue(name) with no options (pg-boss ≥ 10 needs the queue first), work()
 * with batchSize 1, localConcurrency 1, pollingIntervalSeconds 2, and no LISTEN/NOTIFY. A worker at
 * those defaults fetches one job per 2 s poll (~0.5 jobs/s: 20,000 jobs would take ~11 h), so the
 * defaults drain uses its own smaller count, BENCH_PGBOSS_DEFAULT_TASKS (default 20, ~40 s).
 * Second figure, on N jobs ("batched"): work() with batchSize 100 (the handler gets 100 jobs per
 * call; pg-boss's successor to teamSize, localConcurrency, added little over it here: ~10k vs ~8.5k
 * jobs/s at 4–10, while batchSize 1000 gave ~17k) and burstWhenBatchFull (without it every batch
 * still waits out the 2 s poll: at most 50 jobs/s).
 * Third figure: idle latency with pg-boss's opt-in LISTEN/NOTIFY (constructor useListenNotify, queue
 * notify: true), the worker otherwise at defaults.
 * Prints figures and the machine; asserts nothing.
 * Run: `npm install && npm run pg-boss` here (BENCH_TASKS, default 20000; BENCH_PG_URL, default
 * postgres://root@127.0.0.1:5432/test, the admin URL used to create and drop the database).
 */
/* global console, process */
import { PgBoss } from "pg-boss"
import { performance } from "node:perf_hooks"
import { describeMachine, idleLatency, isMain, perSecond, signal, untilZero, withFreshDatabase } from "./postgres.mjs"

const batched = { batchSize: 100, burstWhenBatchFull: true }

const start = async (options) => {
  const boss = new PgBoss(options)
  boss.on("error", (error) => console.error("pg-boss error:", error.message))
  return boss.start()
}

const enqueue = async (boss, name, jobs) => {
  const t0 = performance.now()
  for (let i = 0; i < jobs; i += 1000) {
    await boss.insert(name, Array.from({ length: Math.min(1000, jobs - i) }, (_, j) => ({ data: { n: i + j } })))
  }
  return performance.now() - t0
}

/** enqueue `jobs`, then drain them with a worker of `options`; the worker is stopped afterwards. */
const round = async (boss, url, name, jobs, options) => {
  const enqueueMs = await enqueue(boss, name, jobs)
  let done = 0
  const last = signal()
  const t0 = performance.now()
  const id = await boss.work(name, options, async (batch) => { if ((done += batch.length) === jobs) last.resolve() })
  await last.promise
  await untilZero(url, "SELECT count(*)::int AS count FROM pgboss.job WHERE name = $1 AND state < 'completed'", [name])
  const drainMs = performance.now() - t0
  await boss.offWork(name, { id, wait: true })
  return { jobs, enqueuePerSecond: perSecond(jobs, enqueueMs), drainPerSecond: perSecond(jobs, drainMs), totalPerSecond: perSecond(jobs, enqueueMs + drainMs) }
}

const latencyOn = async (boss, name) => {
  const latency = await idleLatency(() => boss.send(name, {}))
  const id = await boss.work(name, async () => latency.started())
  const { p50, p95 } = await latency.run()
  await boss.offWork(name, { id, wait: true })
  return { p50, p95 }
}

export const measure = async ({ url, jobs, defaultJobs = Math.min(jobs, 20) }) => {
  const boss = await start(url)
  await boss.createQueue("noop")
  const many = await round(boss, url, "noop", jobs, batched)
  const defaults = await round(boss, url, "noop", defaultJobs, {})
  const idle = await latencyOn(boss, "noop")
  await boss.stop()

  const notifying = await start({ connectionString: url, useListenNotify: true })
  await notifying.createQueue("notify", { notify: true })
  const notify = await latencyOn(notifying, "notify")
  await notifying.stop()
  return {
    enqueuePerSecond: many.enqueuePerSecond,
    drainPerSecond: defaults.drainPerSecond,
    totalPerSecond: defaults.totalPerSecond,
    defaultJobs,
    idleLatencyP50Ms: idle.p50,
    idleLatencyP95Ms: idle.p95,
    batched: { drainPerSecond: many.drainPerSecond, totalPerSecond: many.totalPerSecond },
    notify: { idleLatencyP50Ms: notify.p50, idleLatencyP95Ms: notify.p95 }
  }
}

if (isMain(import.meta.url)) {
  const jobs = Number(process.env.BENCH_TASKS ?? 20_000)
  const defaultJobs = Number(process.env.BENCH_PGBOSS_DEFAULT_TASKS ?? Math.min(jobs, 20))
  const f = await withFreshDatabase(async (url) => {
    console.log(`\n# pg-boss (PostgreSQL), ${jobs} no-op jobs (${defaultJobs} at defaults) — ${await describeMachine(url)}`)
    return measure({ url, jobs, defaultJobs })
  })
  const rate = (name, x) => console.log(`  ${name.padEnd(66)} ${x.toFixed(1).padStart(9)} jobs/s`)
  const latency = (name, p50, p95) => console.log(`  ${name.padEnd(66)} ${p50.toFixed(1)} / ${p95.toFixed(1)} ms`)
  rate(`enqueue (insert, 1,000 per call), ${jobs} jobs`, f.enqueuePerSecond)
  rate(`drain, defaults (batchSize 1, 2 s poll), ${f.defaultJobs} jobs`, f.drainPerSecond)
  rate(`enqueue + drain, defaults, ${f.defaultJobs} jobs`, f.totalPerSecond)
  rate(`drain, batchSize 100 + burstWhenBatchFull, ${jobs} jobs`, f.batched.drainPerSecond)
  rate(`enqueue + drain, batchSize 100 + burstWhenBatchFull, ${jobs} jobs`, f.batched.totalPerSecond)
  latency("idle submit → start (defaults), p50 / p95", f.idleLatencyP50Ms, f.idleLatencyP95Ms)
  latency("idle submit → start (LISTEN/NOTIFY on), p50 / p95", f.notify.idleLatencyP50Ms, f.notify.idleLatencyP95Ms)
}
