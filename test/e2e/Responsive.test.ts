import { describe, expect, it } from "@effect/vitest"
import { eventually, rpc, serverForFile } from "../support/process.js"

// The server keeps answering while it works: tasks that come due one after another, or a
// backlog draining (in-process handlers, so nothing but the store and the runtime's fibers
// runs), must not keep the event loop from the HTTP API, the event stream or the dashboard.
// They did: the runtime's fibers woke each other on microtasks for as long as the work lasted,
// and a request made meanwhile was answered only after the last task (4–10 s later), or its
// kept-alive connection was reset.

const server = serverForFile("troupe-responsive-")
const call = async (method: string, params: unknown = {}) => (await rpc(server.url, method, params)).result

describe("a busy server", () => {
  it("answers while tasks come due one after another: a call made meanwhile sees the work under way", async () => {
    // 20,000 no-op tasks due 4,000 a second, from 8 s from now (time to store them first).
    const total = 20_000
    const due = Date.now() + 8000
    for (let from = 0; from < total; from += 5000) {
      await call("submitMany", {
        tasks: Array.from({ length: 5000 }, (_, i) => ({ type: "quick", payload: { n: from + i }, options: { runAt: due + Math.floor((from + i) / 4) } }))
      })
    }
    expect(Date.now()).toBeLessThan(due)
    await new Promise((r) => setTimeout(r, due + 1000 - Date.now()))
    // A second into the 5 s of work: answered while it runs, not after it ends.
    const counts = await call("counts") as Record<string, number>
    expect(counts["completed"]).toBeGreaterThan(0)
    expect(counts["completed"]).toBeLessThan(total)
    expect(counts["delayed"]).toBeGreaterThan(0)
  }, 60_000)

  it("answers while a backlog of ready tasks drains: a call made meanwhile sees the work under way", async () => {
    // The previous test's tasks run on after it ended (it looked a second in): counted from
    // when they are done, so only this test's tasks are in the difference.
    const unfinished = (c: Record<string, number>) => (c["delayed"] ?? 0) + (c["pending"] ?? 0) + (c["running"] ?? 0)
    const settled = await eventually(async () => await call("counts") as Record<string, number>, (c) => unfinished(c) === 0)
    const before = settled["completed"] ?? 0
    const total = 60_000
    await call("pause", { queue: true })
    for (let from = 0; from < total; from += 5000) {
      await call("submitMany", { tasks: Array.from({ length: 5000 }, (_, i) => ({ type: "quick", payload: { n: from + i } })) })
    }
    await call("resume", { queue: true })
    await new Promise((r) => setTimeout(r, 300))
    const counts = await call("counts") as Record<string, number>
    expect(counts["completed"]! - before).toBeGreaterThan(0)
    expect(counts["completed"]! - before).toBeLessThan(total)
  }, 60_000)
})
