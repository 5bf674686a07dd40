/**
 * troupe next to piscina on the same CPU work, in the same run: N tasks of ~0.5 ms of CPU on 2
 * threads, all submitted at once and each awaited (troupe: `submit` + `await`, durable on
 * SQLite; piscina: `run`). Each side runs in a fresh child process; prints the time, the
 * efficiency (CPU time per task × N ÷ threads ÷ wall time) and the child's peak RSS, medians of
 * 3, with the machine. A third side drives the same piscina pool the way an Effect app drives
 * troupe (a fiber per task, forEach unbounded): what the caller's fibers alone cost, the floor
 * under troupe's figures. Asserts nothing. Run: npm run build (top level), then `npm install &&
 * node piscina.mjs` here.
 */
/* global console, process, setInterval, clearInterval, URL */
import { execFileSync } from "node:child_process"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { describeMachine, median } from "../../dist/bench/machine.js"

const THREADS = 2
const count = Number(process.env["BENCH_TASKS"] ?? 20_000)
const runs = Number(process.env["BENCH_RUNS"] ?? 3)

/** Peak RSS of this process while `work` runs, sampled every 50 ms (`rss()` alone: reading memory costs main-thread time). */
const measured = async (work) => {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50)
  const start = performance.now()
  await work()
  const ms = performance.now() - start
  clearInterval(timer)
  return { ms, peakMiB: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20 }
}

const child = async (side, iterations) => {
  if (side === "piscina") {
    const { Piscina } = await import("piscina")
    const pool = new Piscina({ filename: new URL("./spinTask.mjs", import.meta.url).href, minThreads: THREADS, maxThreads: THREADS })
    await Promise.all(Array.from({ length: THREADS * 4 }, () => pool.run({ iterations })))
    const result = await measured(() => Promise.all(Array.from({ length: count }, () => pool.run({ iterations }))))
    await pool.destroy()
    return result
  }
  if (side === "piscina-effect") {
    // The same pool driven the way an Effect app drives troupe: a fiber per task (forEach,
    // unbounded), each waiting on its promise. The floor of an Effect caller, before any queue.
    const Effect = await import("effect/Effect")
    const { Piscina } = await import("piscina")
    const pool = new Piscina({ filename: new URL("./spinTask.mjs", import.meta.url).href, minThreads: THREADS, maxThreads: THREADS })
    const one = Effect.promise(() => pool.run({ iterations }))
    await Effect.runPromise(Effect.forEach(Array.from({ length: THREADS * 4 }), () => one, { concurrency: "unbounded" }))
    const result = await measured(() => Effect.runPromise(Effect.forEach(Array.from({ length: count }), () => one, { concurrency: "unbounded", discard: true })))
    await pool.destroy()
    return result
  }
  const Effect = await import("effect/Effect")
  const Troupe = await import("../../dist/src/runtime/Troupe.js")
  const { TaskQueue } = await import("../../dist/src/services/queue/TaskQueue.js")
  const { Spin } = await import("../../dist/bench/e2eHandlers.js")
  const { tmpDb } = await import("../../dist/bench/raw.js")
  const handlersModule = fileURLToPath(new URL("../../dist/bench/e2eHandlers.js", import.meta.url))
  const program = Effect.gen(function*() {
    const queue = yield* TaskQueue
    const one = Effect.flatMap(queue.submit(Spin, { iterations }), (id) => queue.await(Spin, id))
    yield* Effect.forEach(Array.from({ length: THREADS * 4 }), () => one, { concurrency: "unbounded" })
    return yield* Effect.promise(() =>
      measured(() => Effect.runPromise(Effect.forEach(Array.from({ length: count }), () => one, { concurrency: "unbounded", discard: true }).pipe(
        Effect.provideService(TaskQueue, queue)
      )))
    )
  })
  return Effect.runPromise(Effect.provide(program, Troupe.layer({ database: tmpDb(), handlersModule, workers: THREADS, shutdownTimeout: 0 })))
}

const [, , side, iterationsArg] = process.argv
if (side !== undefined) {
  console.log(JSON.stringify(await child(side, Number(iterationsArg))))
} else {
  const { calibrate } = await import("../../dist/bench/workers.js")
  const { cpuMs, iterations } = calibrate(0.5)
  const self = fileURLToPath(import.meta.url)
  const results = { piscina: [], "piscina-effect": [], troupe: [] }
  for (let r = 0; r < runs; r++) {
    for (const s of ["piscina", "piscina-effect", "troupe"]) {
      const out = execFileSync(process.execPath, [self, s, String(iterations)], { encoding: "utf8" }).trim().split("\n")
      results[s].push(JSON.parse(out[out.length - 1]))
    }
  }
  console.log(`\n# CPU tasks of ${cpuMs.toFixed(3)} ms, ${count} submitted at once and awaited, ${THREADS} threads, median of ${runs} — ${describeMachine()}`)
  const line = (name, xs) => {
    const ms = median(xs.map((x) => x.ms))
    const peak = median(xs.map((x) => x.peakMiB))
    console.log(`  ${name.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms   efficiency ${(cpuMs * count / THREADS / ms).toFixed(2)}   peak RSS ${peak.toFixed(0).padStart(4)} MiB`)
    return peak
  }
  const p = line("piscina 5 (run)", results.piscina)
  const f = line("piscina, a fiber per task (Effect)", results["piscina-effect"])
  const t = line("troupe (submit + await, durable)", results.troupe)
  console.log(`  troupe peak RSS ÷ piscina's: ${(t / p).toFixed(2)}   (target ≤ 2; efficiency target ≥ 0.85)`)
  console.log(`  the Effect caller alone (a fiber per task, no queue) ÷ piscina's: ${(f / p).toFixed(2)}: the floor of any queue awaited this way from Effect`)
}
