/**
 * JSON-RPC submit throughput: the real `troupe start` process (SQLite, queue paused so only
 * submits are measured), driven over HTTP keep-alive by this process — one submit per request
 * and batches of 100 per request — next to TaskQueue.submit in-process on the same kind of
 * store at the same concurrency. The client is node:http with a keep-alive agent. Prints
 * figures and the machine; asserts nothing.
 */
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as http from "node:http"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { NoopFiber } from "./e2eHandlers.js"
import { describeMachine, median } from "./machine.js"
import { tmpDb } from "./raw.js"

const bin = fileURLToPath(new URL("../src/runtime/main.js", import.meta.url))
const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

const TASKS = 10_000
const CONCURRENCY = 16
const BATCH = 100

/** Starts the entrypoint on a free loopback port; its URL and a stop function. */
const startServer = () =>
  new Promise<{ url: string; stop: () => Promise<void> }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "start", "--port", "0", "--handlers", handlersModule, "--database", tmpDb(), "--num-workers", "1"], {
      stdio: ["ignore", "pipe", "ignore"]
    })
    let out = ""
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m !== null) {
        resolve({
          url: m[1]!,
          stop: () => new Promise((done) => { child.once("exit", () => done()); child.kill("SIGTERM") })
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`server exited (${code}):\n${out}`)))
  })

// node:http with a keep-alive agent: on 2 cores, fetch (undici) cost the client ~3× more CPU
// per request than the server spent, and capped what the server could be shown to do.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

const call = (url: string, body: unknown): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const text = JSON.stringify(body)
    const { hostname, port } = new URL(url)
    const req = http.request(
      { host: hostname, port, path: "/rpc", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) } },
      (res) => {
        let answer = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => { answer += c })
        res.on("end", () => resolve(JSON.parse(answer) as unknown))
      }
    )
    req.on("error", reject)
    req.end(text)
  })

const submitCall = (n: number) => ({ jsonrpc: "2.0", id: n, method: "submit", params: { type: "noopFiber", payload: { n } } })

/** `total` submits from `CONCURRENCY` loops, `perRequest` calls per HTTP request; submits/s. */
const overHttp = async (url: string, total: number, perRequest: number) => {
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (;;) {
      const first = next
      next += perRequest
      if (first >= total) return
      const n = Math.min(perRequest, total - first)
      const body = perRequest === 1 ? submitCall(first) : Array.from({ length: n }, (_, i) => submitCall(first + i))
      const answer = await call(url, body)
      const answers = Array.isArray(answer) ? answer : [answer]
      if (answers.some((a: { error?: unknown }) => a.error !== undefined)) throw new Error(`submit failed: ${JSON.stringify(answers[0])}`)
    }
  }))
  return total / ((performance.now() - start) / 1000)
}

/** The same submits through TaskQueue in this process, `CONCURRENCY` at a time; submits/s. */
const inProcess = (total: number) =>
  Effect.runPromise(Effect.gen(function*() {
    const queue = yield* TaskQueue
    yield* queue.pause({ queue: true })
    const start = performance.now()
    yield* Effect.forEach(Array.from({ length: total }, (_, n) => n), (n) => queue.submit(NoopFiber, { n }), { concurrency: CONCURRENCY, discard: true })
    return total / ((performance.now() - start) / 1000)
  }).pipe(Effect.provide(Troupe.layer({ database: tmpDb(), handlersModule, workers: 1 }))) as Effect.Effect<number>)

export const run = async () => {
  console.log(`\n## JSON-RPC submit throughput (${TASKS.toLocaleString()} submits, ${CONCURRENCY} concurrent callers, queue paused, SQLite)`)
  console.log(describeMachine())
  const rows: Array<[string, Array<number>]> = [["TaskQueue.submit in-process", []], ["JSON-RPC, 1 submit per request", []], [`JSON-RPC, batches of ${BATCH}`, []]]
  for (let round = 0; round < 3; round++) {
    rows[0]![1].push(await inProcess(TASKS))
    const server = await startServer()
    await call(server.url, { jsonrpc: "2.0", id: 0, method: "pause", params: { queue: true } })
    await overHttp(server.url, 500, 1) // warm-up: connections, JIT
    rows[1]![1].push(await overHttp(server.url, TASKS, 1))
    rows[2]![1].push(await overHttp(server.url, TASKS, BATCH))
    await server.stop()
  }
  const base = median(rows[0]![1])
  for (const [name, xs] of rows) {
    const m = median(xs)
    console.log(`${name.padEnd(34)} ${m.toFixed(0).padStart(8)} submits/s  (${(m / base).toFixed(2)}× in-process; runs: ${xs.map((x) => x.toFixed(0)).join(", ")})`)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run()
