import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Browser, Page } from "playwright-core"
import { launch } from "../support/browser.js"
import type { Server } from "../support/process.js"
import { eventually, operateHandlers, startServer } from "../support/process.js"

// The dashboard as an operator uses it: `troupe start` with a token, seeded tasks, and a real
// Chromium driving the page (playwright-core). TROUPE_SCREENSHOTS=1 writes the main views to
// docs/screenshots/ for the README.

const TOKEN = "dash-s3cret"
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-dashboard-"))
const gateFile = path.join(dir, "gate-open")
const gate2File = path.join(dir, "gate2-open")
let server: Server
let browser: Browser
let closeBrowser: () => Promise<void>
const shots = process.env["TROUPE_SCREENSHOTS"] !== undefined ? path.resolve("docs/screenshots") : undefined

const call = async (method: string, params: unknown = {}) => {
  const res = await fetch(`${server.url}/rpc`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })
  })
  const answer = await res.json() as { result?: unknown; error?: { message: string } }
  if (answer.error !== undefined) throw new Error(answer.error.message)
  return answer.result
}

const snap = async (page: Page, name: string) => {
  if (shots === undefined) return
  fs.mkdirSync(shots, { recursive: true })
  await page.screenshot({ path: path.join(shots, `${name}.png`) })
}

/** Presses Tab until the focused element matches `selector` (at most `max` times): the way a keyboard reaches it. */
const tabTo = async (page: Page, selector: string, max = 60) => {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab")
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) === true`)) return
  }
  throw new Error(`${selector} not reached with ${max} presses of Tab`)
}

/** Starts adding up the page's layout shifts (those not caused by the user's input), as Chromium reports them. */
const measureShifts = (page: Page) =>
  page.evaluate(`window.shifts = 0; new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) window.shifts += e.value
  }).observe({ type: "layout-shift" })`)
const shifted = (page: Page) => page.evaluate("window.shifts")

/** A page that has given the token (kept for the tab: sessionStorage). */
const signedIn = async (hash = "#/") => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
  await page.goto(`${server.url}/${hash}`)
  await page.getByLabel("token").fill(TOKEN)
  await page.getByRole("button", { name: "Open" }).click()
  return page
}

beforeAll(async () => {
  server = await startServer(["--handlers", operateHandlers, "--database", path.join(dir, "q.db"), "--num-workers", "2", "--token", TOKEN])
  const launched = await launch()
  browser = launched.browser
  closeBrowser = launched.close
  // Seed: finished work of three types, a failure, and a task that runs until the test opens its gate.
  await call("submitMany", { tasks: Array.from({ length: 12 }, (_, n) => ({ type: "echo", payload: { n }, options: { id: `echo-${n}` } })) })
  await call("submit", { type: "talk", payload: { lines: 6 }, options: { id: "talk-1" } })
  await call("submit", { type: "fail", payload: {}, options: { id: "fail-1" } })
  await call("submit", { type: "gate", payload: { file: gateFile }, options: { id: "gate-1" } })
  // A small DAG: two sources, one join, one after it.
  await call("submitMany", {
    tasks: [
      { type: "echo", payload: { n: 1 }, options: { id: "dag-a" } },
      { type: "echo", payload: { n: 2 }, options: { id: "dag-b" } },
      { type: "echo", payload: { n: 3 }, options: { id: "dag-join", dependsOn: ["dag-a", "dag-b"] } },
      { type: "echo", payload: { n: 4 }, options: { id: "dag-after", dependsOn: ["dag-join"] } }
    ]
  })
  await eventually(() => call("counts") as Promise<Record<string, number>>, (c) => c["completed"] === 17 && c["failed"] === 1 && c["running"] === 1)
}, 60_000)

afterAll(async () => {
  await closeBrowser?.()
  server?.process.kill("SIGTERM")
  if (server !== undefined) await server.exited
  fs.rmSync(dir, { recursive: true, force: true })
}, 60_000)

describe("the dashboard in a real browser", () => {
  it("asks for the token once, refuses a wrong one, and keeps the right one for the tab", async () => {
    const page = await browser.newPage()
    await page.goto(`${server.url}/`)
    await page.getByLabel("token").fill("wrong")
    await page.getByRole("button", { name: "Open" }).click()
    await page.getByText("That token was not accepted").waitFor()
    await page.getByLabel("token").fill(TOKEN)
    await page.getByRole("button", { name: "Open" }).click()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    // Kept for the tab: a reload asks nothing.
    await page.reload()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    expect(await page.getByLabel("token").count()).toBe(0)
    await page.close()
  })

  it("the overview shows counts by status and type, health and the worker threads, updated live", async () => {
    const page = await signedIn()
    await page.locator('[data-card="completed"] .n').filter({ hasText: "17" }).waitFor()
    expect(await page.locator('[data-card="failed"] .n').textContent()).toBe("1")
    expect(await page.locator('[data-card="running"] .n').textContent()).toBe("1")
    expect(await page.locator("[data-health]").getAttribute("data-health")).toMatch(/healthy|warning/)
    expect(await page.locator("tr[data-worker]").count()).toBe(2)
    // The last hour's chart has this minute's ends; the budget shows each resource.
    await page.locator("svg.chart rect.ok").first().waitFor()
    expect(await page.locator("svg.chart rect.bad").count()).toBeGreaterThan(0)
    expect(await page.locator("[data-resource]").evaluateAll((ms) => ms.map((m) => m.getAttribute("data-resource")))).toStrictEqual(["cpu", "memory", "gpu"])
    await snap(page, "overview")
    // Live: tasks submitted elsewhere show up in the counts without a reload.
    await call("submitMany", { tasks: Array.from({ length: 5 }, (_, n) => ({ type: "echo", payload: { n } })) })
    await page.locator('[data-card="completed"] .n').filter({ hasText: "22" }).waitFor()
    await page.close()
  })

  it("the task list is newest first, filters by status, type and id prefix, and its rows follow status changes", async () => {
    const page = await signedIn("#/tasks")
    await page.getByRole("heading", { name: "Tasks" }).waitFor()
    const ids = await page.locator("tr[data-task]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-task")))
    expect(ids.indexOf("gate-1")).toBeLessThan(ids.indexOf("echo-0"))
    await page.getByLabel("status").selectOption("failed")
    await page.getByRole("button", { name: "Filter" }).click()
    // The filtered page replaced the list once the address says so and one row is left.
    await page.waitForFunction('location.hash.includes("status=failed") && document.querySelectorAll("tr[data-task]").length === 1')
    expect(await page.locator("tr[data-task]").getAttribute("data-task")).toBe("fail-1")
    await page.goto(`${server.url}/#/tasks?id=echo-1`)
    await page.locator('tr[data-task="echo-10"]').waitFor()
    expect((await page.locator("tr[data-task]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-task")))).sort()).toStrictEqual(["echo-1", "echo-10", "echo-11"])
    await page.goto(`${server.url}/#/tasks?type=talk`)
    await page.locator('tr[data-task="talk-1"]').waitFor()
    await page.goto(`${server.url}/#/tasks`)
    await page.locator('tr[data-task="gate-1"]').waitFor()
    await snap(page, "tasks")
    await page.close()
  })

  it("a running task's page follows its log, and Cancel (confirmed) stops it: its status changes live", async () => {
    const page = await signedIn("#/task/gate-1")
    await page.getByText(`waiting for ${gateFile}`).waitFor()
    expect(await page.locator("h1 [data-status]").getAttribute("data-status")).toBe("running")
    await snap(page, "task")
    page.once("dialog", (dialog) => void dialog.accept())
    await page.getByRole("button", { name: "Cancel" }).click()
    await page.locator('h1 [data-status="cancelled"]').waitFor()
    expect((await call("get", { id: "gate-1" }) as { status: string }).status).toBe("cancelled")
    await page.close()
  })

  it("a finished task's page shows its result, a failed one its typed error", async () => {
    const page = await signedIn("#/task/talk-1")
    await page.getByRole("heading", { name: "Result" }).waitFor()
    // Its log comes on its own stream: every line, in order.
    await page.locator("ol.logs li").nth(5).waitFor()
    expect(await page.locator("ol.logs li").evaluateAll((lines) => lines.map((l) => l.textContent?.split(" ").at(-1)))).toStrictEqual(["1", "2", "3", "4", "5", "6"])
    await page.goto(`${server.url}/#/task/fail-1`)
    await page.getByRole("heading", { name: "Attempts that failed" }).waitFor()
    await page.getByText("it never works").first().waitFor()
    await page.close()
  })

  it("submits a task from the form made from its payload Schema: the API's own validation message, then the task's page", async () => {
    const page = await signedIn("#/submit")
    await page.getByRole("link", { name: "echo" }).click()
    await page.getByRole("heading", { name: "Submit echo" }).waitFor()
    // What the API answers for the same bad payload, word for word.
    const expected = await call("submit", { type: "echo", payload: { n: 1.5 } }).then(() => "accepted", (e: Error) => e.message)
    await page.getByLabel("n", { exact: true }).fill("1.5")
    await page.getByRole("button", { name: "Submit" }).click()
    await page.getByRole("alert").filter({ hasText: "integer" }).waitFor()
    expect(await page.getByRole("alert").textContent()).toBe(expected)
    await page.getByLabel("n", { exact: true }).fill("7")
    await page.getByLabel("id (optional)").fill("from-the-form")
    await page.getByRole("button", { name: "Submit" }).click()
    await page.locator('h1 [data-status="completed"]').waitFor()
    expect(page.url()).toContain("#/task/from-the-form")
    expect(await call("get", { id: "from-the-form" })).toMatchObject({ status: "completed", result: { n: 7 } })
    await snap(page, "task-completed")
    await page.close()
  })

  it("a task's page draws its dependencies upstream and downstream, each with its status, linked to its page", async () => {
    const page = await signedIn("#/task/dag-join")
    await page.locator("svg.graph").waitFor()
    const nodes = await page.locator("svg.graph [data-node]").evaluateAll((ns) => ns.map((n) => `${n.getAttribute("data-node")}:${n.getAttribute("data-status")}`).sort())
    expect(nodes).toStrictEqual(["dag-a:completed", "dag-after:completed", "dag-b:completed", "dag-join:completed"])
    expect(await page.locator("svg.graph path.edge").count()).toBe(3)
    await snap(page, "dependencies")
    await page.locator('svg.graph [data-node="dag-after"]').click()
    await page.getByRole("heading", { name: /dag-after/ }).waitFor()
    await page.close()
  })

  it("types and the whole queue are paused and resumed from the overview (the queue after a confirmation)", async () => {
    const page = await signedIn()
    const row = page.locator('tr[data-type="talk"]')
    await row.getByRole("button", { name: "Pause" }).click()
    await row.getByRole("button", { name: "Resume" }).waitFor()
    expect((await call("stats") as { paused: { types: Array<string> } }).paused.types).toStrictEqual(["talk"])
    await row.getByRole("button", { name: "Resume" }).click()
    await row.getByRole("button", { name: "Pause" }).waitFor()
    page.once("dialog", (dialog) => void dialog.accept())
    await page.locator('[data-toggle="queue"]').click()
    await page.getByText("The whole queue is paused").waitFor()
    expect((await call("stats") as { paused: { queue: boolean } }).paused.queue).toBe(true)
    await page.locator('[data-toggle="queue"]').click()
    await page.getByText("The whole queue is paused").waitFor({ state: "detached" })
    expect((await call("stats") as { paused: { queue: boolean; types: Array<string> } }).paused).toStrictEqual({ queue: false, types: [] })
    await page.close()
  })

  it("live rows do not move: status changes in place, tasks that come to match wait behind a bar; filter by key", async () => {
    await call("submit", { type: "gate", payload: { file: gate2File }, options: { id: "gate-2", key: "acct-7" } })
    const page = await signedIn("#/tasks")
    await page.locator('tr[data-task="gate-2"] [data-status="running"]').waitFor()
    await measureShifts(page)
    const before = await page.locator("tr[data-task]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-task")))
    await call("submitMany", { tasks: Array.from({ length: 3 }, (_, n) => ({ type: "echo", payload: { n }, options: { id: `keyed-${n}`, key: "acct-7" } })) })
    await page.locator('button[data-news="3"]').waitFor()
    fs.writeFileSync(gate2File, "")
    await page.locator('tr[data-task="gate-2"] [data-status="completed"]').waitFor()
    // The rows read stayed where they were; nothing on the page moved.
    expect(await page.locator("tr[data-task]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-task")))).toStrictEqual(before)
    expect(await shifted(page)).toBe(0)
    await page.getByRole("button", { name: "3 more tasks match now · Show" }).click()
    await page.locator('tr[data-task="keyed-2"]').waitFor()
    expect(await page.locator("button[data-news]").getAttribute("data-news")).toBe("0")
    // The key links to the key's tasks, finished ones included.
    await page.locator('tr[data-task="gate-2"]').getByRole("link", { name: "acct-7" }).click()
    await page.waitForFunction('location.hash.includes("key=acct-7") && document.querySelectorAll("tr[data-task]").length === 4')
    expect(await page.locator("tr[data-task]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-task")))).toStrictEqual(["keyed-2", "keyed-1", "keyed-0", "gate-2"])
    await page.close()
  })

  it("works from the keyboard alone, and live updates leave the focus where it is", async () => {
    const page = await signedIn()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    // The focus on a type's Pause button survives the overview's live redraws; Enter toggles it.
    await tabTo(page, 'button[data-toggle="echo"]')
    const completed = Number(await page.locator('[data-card="completed"] .n').textContent())
    await call("submitMany", { tasks: Array.from({ length: 4 }, (_, n) => ({ type: "echo", payload: { n } })) })
    await page.waitForFunction(`Number(document.querySelector('[data-card="completed"] .n')?.textContent) >= ${completed + 4}`)
    expect(await page.evaluate('document.activeElement?.getAttribute("data-toggle")')).toBe("echo")
    await page.keyboard.press("Enter")
    await page.locator('button[data-toggle="echo"]', { hasText: "Resume" }).waitFor()
    expect(await page.evaluate("document.activeElement?.textContent")).toBe("Resume")
    await page.keyboard.press("Enter")
    await page.locator('button[data-toggle="echo"]', { hasText: "Pause" }).waitFor()
    // From the menu to a task, and an action on it, with Tab and Enter only.
    await tabTo(page, 'nav a[href="#/tasks"]')
    await page.keyboard.press("Enter")
    await page.getByRole("heading", { name: "Tasks" }).waitFor()
    await page.locator('tr[data-task="fail-1"]').waitFor()
    await tabTo(page, 'a[href="#/task/fail-1"]', 200)
    await page.keyboard.press("Enter")
    await page.locator('h1 [data-status="failed"]').waitFor()
    await tabTo(page, 'button[data-action="retry"]')
    await page.keyboard.press("Enter")
    await eventually(() => call("get", { id: "fail-1" }) as Promise<{ errors: Array<unknown>; status: string }>, (t) => t.errors.length === 2 && t.status === "failed")
    await page.close()
  })

  it("lists the schedules on the overview, and removes one after a confirmation", async () => {
    await call("schedule", { name: "nightly", type: "echo", payload: { n: 1 }, options: { cron: "0 3 * * *", timezone: "Europe/Berlin" } })
    const page = await signedIn()
    const row = page.locator('tr[data-schedule="nightly"]')
    await row.waitFor()
    expect(await row.textContent()).toContain("cron 0 3 * * * (Europe/Berlin)")
    page.once("dialog", (dialog) => void dialog.accept())
    await row.getByRole("button", { name: "Unschedule" }).click()
    await row.waitFor({ state: "detached" })
    expect(await call("schedules")).toStrictEqual([])
    await page.close()
  })

  it("follows the system's light or dark colour scheme", async () => {
    const page = await signedIn()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    const colours = () => page.evaluate("[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]")
    await page.emulateMedia({ colorScheme: "light" })
    expect(await colours()).toStrictEqual(["rgb(255, 255, 255)", "rgb(29, 33, 37)"])
    await page.emulateMedia({ colorScheme: "dark" })
    expect(await colours()).toStrictEqual(["rgb(17, 20, 24)", "rgb(230, 232, 235)"])
    await snap(page, "overview-dark")
    await page.close()
  })

  it("reads on a phone's width: the pages do not scroll sideways (wide tables scroll inside their own box)", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
    await page.goto(`${server.url}/`)
    await page.getByLabel("token").fill(TOKEN)
    await page.getByRole("button", { name: "Open" }).click()
    for (const hash of ["#/", "#/tasks", "#/task/dag-join", "#/submit?type=echo"]) {
      await page.goto(`${server.url}/${hash}`)
      await page.locator("main h1").waitFor()
      expect([hash, await page.evaluate("document.documentElement.scrollWidth")]).toStrictEqual([hash, 390])
    }
    await page.close()
  })
})
