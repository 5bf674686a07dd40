/**
 * JSON-RPC submit throughput: the real `troupe start` process (SQLite, queue paused so only
 * submits are measured), driven over HTTP keep-alive by this process — one submit per request
 * and batches of 100 per request — next to TaskQueue.submit in-process on the same kind of
 * store at the same concurrency. The client is node:http with a keep-alive agent. Prints
 * figures and the machine; asserts nothing.
 */
import * as Effect from "effect/Effect"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { NoopFiber } from "./e2eHandlers.js"
import { describeMachine, median } from "./machine.js"
import { tmpDb } from "./raw.js"
import { call, startServer } from "./server.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

const TASKS = 10_000
const CONCURRENCY = 16
const BATCH = 100

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
