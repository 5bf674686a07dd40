/**
 * Live events with many clients: the real `troupe start` process drains 1,000 in-process no-op
 * tasks with no `GET /events` client, then with 1,000 of them connected (each counting the
 * completions it hears), alternately, three rounds. Prints the drain times and their ratio, the
 * longest a `counts` call waited during the drains, and the server's heap in use after a full
 * collection and its RSS before the clients connect, with them connected, and after they left.
 * Asserts nothing.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import { describeMachine, median } from "./machine.js"
import { call, startServer } from "./server.js"

const TASKS = 1000
const CLIENTS = 1000

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  return m === null ? NaN : Number(m[1]) / 1024
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Client {
  completed: number
  readonly request: http.ClientRequest
}

const needle = Buffer.from(`"status":"completed"`)

/**
 * A `GET /events` client that only counts completions (in the raw bytes: this process shares
 * the two cores with the server); resolves once the stream is open.
 */
const connect = (url: string): Promise<Client> =>
  new Promise((resolve, reject) => {
    let carry = Buffer.alloc(0)
    const request = http.get(`${url}/events`, { agent: false }, (response) => {
      resolve(client)
      response.on("data", (chunk: Buffer) => {
        const bytes = carry.length === 0 ? chunk : Buffer.concat([carry, chunk])
        for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) if (at + needle.length > carry.length) client.completed++
        carry = Buffer.from(bytes.subarray(Math.max(0, bytes.length - needle.length)))
      })
    })
    const client: Client = { completed: 0, request }
    request.on("error", reject)
  })

const counts = async (url: string) => (await call(url, { jsonrpc: "2.0", id: 1, method: "counts" }) as { result: { completed?: number } }).result

/** Submits TASKS in batches of 100 and waits for them all to complete (and every client to hear it). */
const drain = async (url: string, clients: ReadonlyArray<Client>) => {
  const before = (await counts(url)).completed ?? 0
  const heard = clients.map((c) => c.completed)
  const start = performance.now()
  for (let b = 0; b < TASKS; b += 100) {
    await call(url, Array.from({ length: 100 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "submit", params: { type: "noopFiber", payload: { n: b + i } } })))
  }
  let slowestCall = 0
  for (;;) {
    const asked = performance.now()
    const done = ((await counts(url)).completed ?? 0) - before
    slowestCall = Math.max(slowestCall, performance.now() - asked)
    if (done >= TASKS && clients.every((c, i) => c.completed - heard[i]! >= TASKS)) break
    await pause(5)
  }
  return { ms: performance.now() - start, slowestCall }
}

export const run = async () => {
  console.log(`\n## GET /events fan-out (${TASKS.toLocaleString()} in-process no-op tasks drained; none vs ${CLIENTS.toLocaleString()} SSE clients; SQLite)`)
  console.log(describeMachine())
  const server = await startServer()
  await drain(server.url, []) // warm-up
  const none: Array<number> = []
  const many: Array<number> = []
  let slowest = 0
  const rss: Array<[string, number]> = []
  const heap: Array<[string, number]> = []
  for (let round = 0; round < 3; round++) {
    const alone = await drain(server.url, [])
    none.push(alone.ms)
    rss.push([`round ${round + 1}: before the clients`, rssMiB(server.pid)])
    heap.push([`round ${round + 1}: before`, await server.heapMiB()])
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(server.url)))
    const crowded = await drain(server.url, clients)
    many.push(crowded.ms)
    slowest = Math.max(slowest, alone.slowestCall, crowded.slowestCall)
    rss.push(["with them, after a drain", rssMiB(server.pid)])
    heap.push(["with them", await server.heapMiB()])
    for (const c of clients) c.request.destroy()
    await pause(1000)
    rss.push(["1 s after they left", rssMiB(server.pid)])
    heap.push(["after they left", await server.heapMiB()])
  }
  await server.stop()
  const [a, b] = [median(none), median(many)]
  console.log(`drain, no client         ${a.toFixed(0).padStart(7)} ms  (runs: ${none.map((x) => x.toFixed(0)).join(", ")})`)
  console.log(`drain, ${CLIENTS} clients     ${b.toFixed(0).padStart(7)} ms  (runs: ${many.map((x) => x.toFixed(0)).join(", ")}) = ${(b / a).toFixed(2)}× no client`)
  console.log(`slowest counts call during the drains: ${slowest.toFixed(0)} ms`)
  console.log(`server heap in use after a full GC (MiB): ${heap.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(" · ")}`)
  console.log(`server RSS (MiB): ${rss.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(" · ")}`)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run()
