import { describe, expect, it } from "@effect/vitest"
import * as http from "node:http"
import { eventually, rpc, serverForFile } from "../support/process.js"

// Live events with many clients, as an operator's dashboards and scripts connect them: a real
// `troupe start` process, a thousand `GET /events` connections from this one. The bound is the
// test's timeout (the figures are in bench/events.ts), not a timing assertion.

const server = serverForFile("troupe-events-")

/** One SSE client that only counts: completions seen, and whether the server dropped it. */
interface Counter {
  completed: number
  dropped: boolean
  ended: boolean
  readonly request: http.ClientRequest
}

const needle = `"status":"completed"`

/** Opens `GET /events`; resolves once the server has opened the stream. */
const connect = (url: string): Promise<Counter> =>
  new Promise((resolve, reject) => {
    let carry = ""
    const request = http.get(`${url}/events`, { agent: false }, (response) => {
      response.setEncoding("utf8")
      let opened = false
      response.on("data", (chunk: string) => {
        const text = carry + chunk
        // Count each match once: only those ending past what was already scanned.
        for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
          if (at + needle.length > carry.length) counter.completed++
        }
        if (text.includes("event: dropped")) counter.dropped = true
        carry = text.slice(-needle.length)
        if (!opened) {
          opened = true
          resolve(counter)
        }
      })
      response.on("end", () => { counter.ended = true })
    })
    const counter: Counter = { completed: 0, dropped: false, ended: false, request }
    request.on("error", reject)
  })

describe("GET /events with a thousand clients", () => {
  it("every client hears every completion, none is dropped, and calls are answered during the flood and after the clients leave", async () => {
    const clients = await Promise.all(Array.from({ length: 1000 }, () => connect(server.url)))
    const tasks = 1000
    for (let b = 0; b < tasks / 100; b++) {
      const batch = Array.from({ length: 100 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "submit", params: { type: "echo", payload: { n: i } } }))
      const res = await fetch(`${server.url}/rpc`, { method: "POST", body: JSON.stringify(batch) })
      expect((await res.json() as ReadonlyArray<unknown>).length).toBe(100)
    }
    // A call while the events flow is answered.
    const counts = await rpc(server.url, "counts")
    expect(counts.error).toBeUndefined()

    await eventually(async () => clients.filter((c) => c.completed < tasks && !c.dropped).length, (left) => left === 0, 6000)
    expect(clients.filter((c) => c.dropped).length).toBe(0)
    expect(clients.every((c) => c.completed === tasks)).toBe(true)

    for (const c of clients) c.request.destroy()
    const after = await rpc(server.url, "counts")
    expect(after.result).toMatchObject({ completed: tasks })
  }, 60_000)
})
