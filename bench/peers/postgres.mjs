/**
 * Shared by the PostgreSQL peers (graphile.mjs, pgboss.mjs): a throw-away database per run, the
 * idle submit → start sampler, percentiles and the machine line. Standalone (no troupe dist).
 */
/* global process, URL */
import pg from "pg"
import { randomBytes } from "node:crypto"
import os from "node:os"
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
import { pathToFileURL } from "node:url"

export const adminUrl = process.env.BENCH_PG_URL ?? "postgres://root@127.0.0.1:5432/test"

/** Creates troupe_peer_<random>, hands its URL to `use`, drops it (WITH (FORCE)) whatever happens. */
export const withFreshDatabase = async (use) => {
  const name = `troupe_peer_${randomBytes(6).toString("hex")}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    return await use(url.toString())
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
}

/** Polls `sql` (a count) on its own connection until it reads 0. */
export const untilZero = async (url, sql, params = []) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    while ((await client.query(sql, params)).rows[0].count > 0) await sleep(5)
  } finally {
    await client.end()
  }
}

/** A promise to await plus the function that settles it. */
export const signal = () => {
  let resolve
  const promise = new Promise((r) => (resolve = r))
  return { promise, resolve }
}

/**
 * Idle submit → handler start, `samples` times, one job at a time. `submit()` enqueues one job;
 * the handler must call the `started` function this returns (with performance.now()). Before each
 * submit it waits a random 0–2 s, so a poller (both libraries poll every 2 s by default) is met at
 * a random point of its cycle rather than always just after a fetch.
 */
export const idleLatency = async (submit, samples = 50) => {
  let pending = signal()
  const started = () => pending.resolve(performance.now())
  const run = async () => {
    const ms = []
    for (let i = 0; i < samples; i++) {
      await sleep(Math.random() * 2000)
      pending = signal()
      const t0 = performance.now()
      await submit()
      ms.push((await pending.promise) - t0)
    }
    return { p50: percentile(ms, 50), p95: percentile(ms, 95) }
  }
  return { started, run }
}

/** Nearest-rank percentile. */
export const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]
}

export const describeMachine = async (url) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const { rows } = await client.query("SHOW server_version")
  await client.end()
  const cpus = os.cpus()
  return `${cpus.length}× ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${os.platform()} ${os.release()}, Node ${process.version}, PostgreSQL ${rows[0].server_version}`
}

/** True when the calling module is the script node was started with. */
export const isMain = (metaUrl) => process.argv[1] !== undefined && metaUrl === pathToFileURL(process.argv[1]).href

export const perSecond = (jobs, ms) => jobs / (ms / 1000)
