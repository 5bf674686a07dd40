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
