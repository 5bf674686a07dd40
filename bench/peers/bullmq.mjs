/**
 * troupe next to BullMQ on Redis (127.0.0.1:6379), in the same run: N no-op jobs added in bulk
 * (1,000 per call), then drained; jobs/s from the first add to the last completion. BullMQ
 * in-process (concurrency 50) and in worker threads (sandboxed processor, concurrency 2);
 * troupe durable on SQLite with worker threads (2) and in-process fibers. Prints figures and the
 * machine; asserts nothing. Run: npm run build (top level), then `npm install && npm run
 * bullmq` here.
 */
/* global console, process, URL */
import { Queue, Worker } from "bullmq"
import { Redis } from "ioredis"
import { performance } from "node:perf_hooks"
import { throughputOf as throughput } from "../../dist/bench/e2e.js"
import { describeMachine, median } from "../../dist/bench/machine.js"

// BullMQ 6 takes constructed clients in ESM; workers need maxRetriesPerRequest: null.
const connect = () => new Redis({ host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null })

const bullmq = async (count, mode) => {
  const name = `troupe-bench-${process.pid}-${mode}-${Date.now()}`
  const clients = [connect(), connect()]
  const queue = new Queue(name, { connection: clients[0] })
  let done = 0
  let finish
  const finished = new Promise((resolve) => (finish = resolve))
  const worker = mode === "threads"
    ? new Worker(name, new URL("./noopProcessor.mjs", import.meta.url), { connection: clients[1], concurrency: 2, useWorkerThreads: true })
    : new Worker(name, async () => undefined, { connection: clients[1], concurrency: 50 })
  worker.on("completed", () => {
    if (++done === count) finish()
  })
  const start = performance.now()
  for (let i = 0; i < count; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({
      name: "noop",
      data: { n: i + j },
      opts: { removeOnComplete: true }
    })))
  }
  await finished
  const perSecond = count / ((performance.now() - start) / 1000)
  await worker.close()
  await queue.obliterate({ force: true })
  await queue.close()
  for (const client of clients) client.disconnect()
  return perSecond
}

const count = Number(process.env.BENCH_TASKS ?? 20_000)
const runs = Number(process.env.BENCH_RUNS ?? 3)
console.log(`\n# troupe vs BullMQ (Redis 127.0.0.1), ${count} no-op jobs, median of ${runs} — ${describeMachine()}`)
const figures = { bullmqInProcess: [], bullmqThreads: [], troupeThreads: [], troupeFibers: [] }
for (let r = 0; r < runs; r++) {
  figures.bullmqInProcess.push(await bullmq(count, "in-process"))
  figures.bullmqThreads.push(await bullmq(count, "threads"))
  figures.troupeThreads.push(await throughput("threads", count))
  figures.troupeFibers.push(await throughput("fibers", count))
}
const line = (name, xs) => console.log(`  ${name.padEnd(50)} ${median(xs).toFixed(0).padStart(8)} jobs/s`)
line("BullMQ, in-process processor, concurrency 50", figures.bullmqInProcess)
line("BullMQ, worker-thread processor, concurrency 2", figures.bullmqThreads)
line("troupe, durable SQLite, worker threads (2)", figures.troupeThreads)
line("troupe, durable SQLite, in-process fibers", figures.troupeFibers)
console.log(`  troupe threads ÷ BullMQ in-process: ${(median(figures.troupeThreads) / median(figures.bullmqInProcess)).toFixed(2)}×; ÷ BullMQ threads: ${(median(figures.troupeThreads) / median(figures.bullmqThreads)).toFixed(2)}×   (target ≥ 2×)`)
process.exit(0)
