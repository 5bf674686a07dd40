/**
 * The dashboard with 1,000,000 tasks stored (SQLite): what its first render asks of the API
 * (stats, a first page of tasks, a filtered page, page 100 by keyset), timed over HTTP against a
 * real `troupe start`, next to the count over every task that stats used to run (the baseline,
 * on the same file); then the page itself in Debian's Chromium: from navigation to the
 * overview's cards, and to the task list's rows. Then live updates: no-op tasks submitted at
 * ~5,000/s for 10 s to a server that runs them, the overview open: how fast the count it shows
 * rises against the store's, how far behind it falls, and how long it takes to catch up.
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

/** ~5,000 no-op tasks a second for 10 s, the overview open: the page's count against the store's. */
const live = async (file: string) => {
  const server = await start(file, ["--handlers", handlers, "--num-workers", "2"])
  const browser = await chromium.launch(launchOptions)
  try {
    const rpc = (method: string, params: unknown = {}) =>
      fetch(`${server.url}/rpc`, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) }).then((r) => r.json() as Promise<{ result?: unknown }>)
    const stored = async () => ((await rpc("counts")).result as Record<string, number>)["completed"] ?? 0
    const page = await browser.newPage()
    await page.goto(`${server.url}/#/`)
    await page.locator('[data-card="completed"]').waitFor()
    const shown = async () => Number(await page.locator('[data-card="completed"] .n').textContent())
    const samples: Array<{ t: number; store: number; page: number }> = []
    let producing = true
    const producer = (async () => {
      const t0 = performance.now()
      for (let k = 0; performance.now() - t0 < 10_000; k++) {
        await rpc("submitMany", { tasks: Array.from({ length: 500 }, (_, i) => ({ type: "noopFiber", payload: { n: k * 500 + i } })) })
        const due = t0 + (k + 1) * 100
        if (due > performance.now()) await sleep(due - performance.now())
      }
      producing = false
    })()
    const t0 = performance.now()
    while (producing) {
      samples.push({ t: performance.now() - t0, store: await stored(), page: await shown() })
      await sleep(250)
    }
    await producer
    const total = await stored()
    // Then until the page shows what the store has (or 10 s).
    const end = performance.now()
    while ((await shown()) < (await stored()) && performance.now() - end < 10_000) await sleep(50)
    const caughtUp = performance.now() - end
    const first = samples[1]!
    const last = samples.at(-1)!
    const seconds = (last.t - first.t) / 1000
    console.log(
      `live, overview open while no-op tasks complete: store ${((last.store - first.store) / seconds).toFixed(0)} completions/s, ` +
        `page's count ${((last.page - first.page) / seconds).toFixed(0)}/s; most behind ${Math.max(...samples.map((s) => s.store - s.page))} tasks; ` +
        `caught up ${caughtUp.toFixed(0)} ms after the last submit (${total.toLocaleString()} completed)`
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
