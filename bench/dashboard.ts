/**
 * The dashboard with 1,000,000 tasks stored (SQLite): what its first render asks of the API
 * (stats, a first page of tasks, a filtered page, page 100 by keyset), timed over HTTP against a
 * real `troupe start`, next to the count over every task that stats used to run (the baseline,
 * on the same file); then the page itself in Debian's Chromium: from navigation to the
 * overview's cards, and to the task list's rows. Then live updates: 50,000 no-op tasks stored
 * ahead, due 5,000 a second, the overview and the task list open: how fast the count the
 * overview shows rises against the store's, how far behind it falls, and how long the page and
 * the list's rows take to catch up.
 * Prints figures and the machine; asserts nothing.
 *
 *   npm run build && node dist/bench/dashboard.js     (BENCH_DASHBOARD_TASKS=1000000)
 */
import Database from "better-sqlite3"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { chromium } from "playwright-core"
import * as RetryPolicy from "../src/domain/RetryPolicy.js"
import type { NewTask } from "../src/domain/Task.js"
import * as TaskId from "../src/domain/TaskId.js"
import { TaskStore } from "../src/services/store/TaskStore.js"
import { layerSqlite } from "../src/services/store/TaskStoreSqlite.js"
import { describeMachine, median } from "./machine.js"

const TASKS = Number(process.env["BENCH_DASHBOARD_TASKS"] ?? 1_000_000)
const bin = fileURLToPath(new URL("../src/runtime/bin.js", import.meta.url))
const types = ["resize", "transcode", "analyze", "notify", "report"]

const task = (n: number): NewTask => ({
  id: TaskId.unsafeMake(`t${String(n).padStart(8, "0")}`),
  type: types[n % types.length]!,
  payload: { n },
  priority: [0, 10, 20][n % 3]!,
  status: n % 10 === 0 ? "delayed" : "pending",
  retry: RetryPolicy.defaults,
  timeoutMs: null,
  runAt: n % 10 === 0 ? 4_000_000_000_000 : 1000,
  rank: n,
  key: null,
  idempotencyKey: null,
  createdAt: 1000 + n,
  dependsOn: [],
  resources: null,
  traceParent: null
})

const fill = (file: string) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const store = Context.get(yield* Layer.build(layerSqlite({ filename: file })), TaskStore)
    for (let from = 0; from < TASKS; from += 5000) {
      yield* store.insert(Array.from({ length: Math.min(5000, TASKS - from) }, (_, i) => task(from + i)))
    }
  })))

const handlers = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

const start = (file: string, extra: ReadonlyArray<string> = []) =>
  new Promise<{ readonly url: string; readonly stop: () => Promise<void> }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "start", "--port", "0", "--database", file, ...extra], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m !== null && out.includes("Ctrl-C stops")) {
        resolve({ url: m[1]!, stop: () => new Promise<void>((done) => { child.once("exit", () => done()); child.kill("SIGTERM") }) })
      }
    })
    child.on("exit", (code) => reject(new Error(`server exited (${code}): ${out}`)))
  })

const timed = async (runs: number, f: () => Promise<unknown>) => {
  const ms: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await f()
    ms.push(performance.now() - t0)
  }
  return median(ms)
}

/** Debian's Chromium, headless, reaching nothing beyond this machine. */
const launchOptions = {
  executablePath: process.env["TROUPE_CHROMIUM"] ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const LIVE = Number(process.env["BENCH_DASHBOARD_LIVE"] ?? 50_000)
const RATE = Number(process.env["BENCH_DASHBOARD_RATE"] ?? 5_000)

/**
 * Live: LIVE no-op tasks stored ahead with run-at times RATE a second apart (so they come due,
 * run and complete at that rate, with no producer competing for the CPU), the overview and the
 * task list (its newest 50 rows) open in Chromium. How fast the overview's count rises against
 * the store's, how far behind it falls, and how long after the last completion the page and
 * the list's rows show it.
 */
const live = async (file: string) => {
  const server = await start(file, ["--handlers", handlers, "--num-workers", "2"])
  const browser = await chromium.launch(launchOptions)
  try {
    const rpc = (method: string, params: unknown = {}) =>
      fetch(`${server.url}/rpc`, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) }).then((r) => r.json() as Promise<{ result?: unknown }>)
    const stored = async () => ((await rpc("counts")).result as Record<string, number>)["completed"] ?? 0
    const due = Date.now() + 10_000
    for (let from = 0; from < LIVE; from += 5000) {
      await rpc("submitMany", {
        tasks: Array.from({ length: Math.min(5000, LIVE - from) }, (_, i) => ({ type: "noopFiber", payload: { n: from + i }, options: { runAt: due + Math.floor(((from + i) * 1000) / RATE) } }))
      })
    }
    const overview = await browser.newPage()
    await overview.goto(`${server.url}/#/`)
    await overview.locator('[data-card="completed"]').waitFor()
    const list = await browser.newPage()
    await list.goto(`${server.url}/#/tasks`)
    await list.locator("tr[data-task]").first().waitFor()
    const shown = async () => Number(await overview.locator('[data-card="completed"] .n').textContent())
    const rowsDone = () => list.locator('tr[data-task] [data-status="completed"]').count()
    const samples: Array<{ t: number; store: number; page: number }> = []
    await sleep(Math.max(0, due - Date.now() - 500))
    const t0 = performance.now()
    for (;;) {
      const sample = { t: performance.now() - t0, store: await stored(), page: await shown() }
      samples.push(sample)
      if (sample.store >= LIVE) break
      await sleep(250)
    }
    const end = performance.now()
    while ((await shown()) < LIVE && performance.now() - end < 10_000) await sleep(25)
    const pageCaughtUp = performance.now() - end
    while ((await rowsDone()) < 50 && performance.now() - end < 10_000) await sleep(25)
    const rowsCaughtUp = performance.now() - end
    const busy = samples.filter((s) => s.store > 0)
    const first = busy[0]!
    const last = samples.at(-1)!
    const seconds = (last.t - first.t) / 1000
    console.log(
      `live, ${LIVE.toLocaleString()} no-op tasks due ${RATE.toLocaleString()}/s, the overview and the task list open: store ${((last.store - first.store) / seconds).toFixed(0)} completions/s, ` +
        `overview's count ${((Math.min(last.page, LIVE) - first.page) / seconds).toFixed(0)}/s, at most ${Math.max(...samples.map((s) => s.store - s.page)).toLocaleString()} behind; ` +
        `after the last completion the overview showed it in ${pageCaughtUp.toFixed(0)} ms, the list's 50 rows in ${rowsCaughtUp.toFixed(0)} ms`
    )
  } finally {
    await browser.close()
    await server.stop()
  }
}

export const run = async () => {
  console.log(`\n## dashboard: ${TASKS.toLocaleString()} tasks stored (SQLite)`)
  console.log(describeMachine())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-dash-bench-"))
  const file = path.join(dir, "q.db")
  try {
    const t0 = performance.now()
    await fill(file)
    console.log(`filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    const raw = new Database(file, { readonly: true })
    const baseline = await timed(3, async () => raw.prepare("SELECT status, type, priority, count(*) AS n FROM tasks GROUP BY status, type, priority").all())
    raw.close()
    const server = await start(file)
    try {
      const rpc = (method: string, params: unknown = {}) =>
        fetch(`${server.url}/rpc`, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) }).then((r) => r.json() as Promise<{ result?: Array<{ seq: number }> }>)
      const stats = await timed(5, () => rpc("stats"))
      const first = await timed(5, () => rpc("list", { limit: 50, newestFirst: true }))
      const filtered = await timed(5, () => rpc("list", { limit: 50, newestFirst: true, status: ["delayed"], type: "analyze" }))
      const prefix = await timed(5, () => rpc("list", { limit: 50, newestFirst: true, idPrefix: "t0042" }))
      // Page 100: the seq of the 5,000th newest task, found once, then the page after it.
      const deep = (await rpc("list", { limit: 1000, newestFirst: true, beforeSeq: TASKS - 4000 })).result!.at(-1)!.seq
      const page100 = await timed(5, () => rpc("list", { limit: 50, newestFirst: true, beforeSeq: deep }))
      console.log(`API over HTTP, median of 5: stats ${stats.toFixed(1)} ms (counts kept by triggers; the GROUP BY over every task it replaced: ${baseline.toFixed(0)} ms) · ` +
        `first page ${first.toFixed(1)} ms · status+type filter ${filtered.toFixed(1)} ms · id prefix ${prefix.toFixed(1)} ms · page 100 ${page100.toFixed(1)} ms`)
      const browser = await chromium.launch(launchOptions)
      try {
        const overview: Array<number> = []
        const list: Array<number> = []
        for (let i = 0; i < 5; i++) {
          const page = await browser.newPage()
          let t = performance.now()
          await page.goto(`${server.url}/#/`)
          await page.locator('[data-card="pending"]').waitFor()
          overview.push(performance.now() - t)
          t = performance.now()
          await page.goto(`${server.url}/#/tasks`)
          await page.locator("tr[data-task]").first().waitFor()
          list.push(performance.now() - t)
          await page.close()
        }
        console.log(`in Chromium, navigation → drawn, median of 5: overview ${median(overview).toFixed(0)} ms, task list ${median(list).toFixed(0)} ms (target < 300 ms)`)
      } finally {
        await browser.close()
      }
    } finally {
      await server.stop()
    }
    await live(path.join(dir, "live.db"))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run()
