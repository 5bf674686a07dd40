/**
 * graphile-worker on the local PostgreSQL, a peer for troupe's Postgres figures. On a fresh
 * database (troupe_peer_<random>, dropped afterwards) it measures, with N no-op jobs:
 *   - enqueue: N jobs through WorkerUtils.addJobs, 1,000 per call (jobs/s);
 *   - drain: from run() to the last completion, confirmed in the database (no row left in
 *     graphile_worker.jobs: successful jobs are deleted) (jobs/s); total = N / (enqueue + drain);
 *   - idle submit → start: one job at a time (addJob, then wait for the handler), 50 times, each
 *     after a random 0–2 s pause (same protocol as pgboss.mjs, where it meets the 2 s poll at a
 *     random phase); p50/p95 ms.
 * Library defaults (concurrency 1, pollInterval 2 s, LISTEN/NOTIFY on, no local queue / batching).
 * One setting chosen: a silent logger, since the default logs a line per completed job to stdout.
 * A second round, enqueue + drain again, runs with concurrency 10 (graphile's documented knob for
 * parallel jobs; the pool's default maxPoolSize 10 still suffices). Idle latency uses the defaults.
 * Prints figures and the machine; asserts nothing.
 * Run: `npm install && npm run graphile-worker` here (BENCH_TASKS, default 20000; BENCH_PG_URL, default
 * postgres://root@127.0.0.1:5432/test, the admin URL used to create and drop the database).
 */
/* global console, process */
import { Logger, makeWorkerUtils, run } from "graphile-worker"
import { performance } from "node:perf_hooks"
import { describeMachine, idleLatency, isMain, perSecond, signal, untilZero, withFreshDatabase } from "./postgres.mjs"

const logger = new Logger(() => () => {})

const enqueue = async (utils, jobs) => {
  const t0 = performance.now()
  for (let i = 0; i < jobs; i += 1000) {
    await utils.addJobs(Array.from({ length: Math.min(1000, jobs - i) }, (_, j) => ({ identifier: "noop", payload: { n: i + j } })))
  }
  return performance.now() - t0
}

const drain = async (url, jobs, options) => {
  let done = 0
  const last = signal()
  const t0 = performance.now()
  const runner = await run({ connectionString: url, logger, ...options, taskList: { noop: async () => { if (++done === jobs) last.resolve() } } })
  await last.promise
  await untilZero(url, "SELECT count(*)::int AS count FROM graphile_worker.jobs")
  const ms = performance.now() - t0
  await runner.stop()
  return ms
}

export const measure = async ({ url, jobs }) => {
  const utils = await makeWorkerUtils({ connectionString: url, logger })
  await utils.migrate()
  const round = async (options) => {
    const enqueueMs = await enqueue(utils, jobs)
    const drainMs = await drain(url, jobs, options)
    return { enqueueMs, drainPerSecond: perSecond(jobs, drainMs), totalPerSecond: perSecond(jobs, enqueueMs + drainMs) }
  }
  const defaults = await round({})
  const concurrency10 = await round({ concurrency: 10 })

  const latency = await idleLatency(() => utils.addJob("ping", {}))
  const runner = await run({ connectionString: url, logger, taskList: { ping: async () => latency.started() } })
  const idle = await latency.run()
  await runner.stop()
  await utils.release()
  return {
    enqueuePerSecond: perSecond(jobs, defaults.enqueueMs),
    drainPerSecond: defaults.drainPerSecond,
    totalPerSecond: defaults.totalPerSecond,
    idleLatencyP50Ms: idle.p50,
    idleLatencyP95Ms: idle.p95,
    concurrency10: { drainPerSecond: concurrency10.drainPerSecond, totalPerSecond: concurrency10.totalPerSecond }
  }
}

if (isMain(import.meta.url)) {
  const jobs = Number(process.env.BENCH_TASKS ?? 20_000)
  const f = await withFreshDatabase(async (url) => {
    console.log(`\n# graphile-worker (PostgreSQL), ${jobs} no-op jobs — ${await describeMachine(url)}`)
    return measure({ url, jobs })
  })
  const rate = (name, x) => console.log(`  ${name.padEnd(52)} ${x.toFixed(0).padStart(8)} jobs/s`)
  rate("enqueue (addJobs, 1,000 per call)", f.enqueuePerSecond)
  rate("drain, defaults (concurrency 1)", f.drainPerSecond)
  rate("enqueue + drain, defaults", f.totalPerSecond)
  rate("drain, concurrency 10", f.concurrency10.drainPerSecond)
  rate("enqueue + drain, concurrency 10", f.concurrency10.totalPerSecond)
  console.log(`  ${"idle submit → start (defaults), p50 / p95".padEnd(52)} ${f.idleLatencyP50Ms.toFixed(1)} / ${f.idleLatencyP95Ms.toFixed(1)} ms`)
}
