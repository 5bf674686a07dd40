/**
 * Resource governance: a mixed workload whose memory requirements sum to far more than the
 * budget, run with requirements enforced and without, on real worker threads; peak RSS over
 * the idle baseline against the budget, throughput of both, and the memory-pressure
 * controller's shrink/grow timeline against a container-like memory limit. Prints figures and
 * the machine; asserts nothing.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import { MemoryPressure } from "../src/services/resources/MemoryPressure.js"
import type { Change } from "../src/services/resources/MemoryPressure.js"
import * as SystemMetrics from "../src/services/resources/SystemMetrics.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { Hog } from "./e2eHandlers.js"
import { describeMachine } from "./machine.js"
import { tmpDb } from "./raw.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))
const MiB = 2 ** 20
const rssMb = () => process.memoryUsage.rss() / MiB
const gc = () => (globalThis as { gc?: () => void }).gc?.()

const WORKERS = 4
const BUDGET_MB = 320
const SIZES = [64, 96, 128, 160]
const TASKS = 48

/** Submits the workload (requirements declared or not), drains it; peak RSS sampled meanwhile. */
const workload = (declare: boolean) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    gc()
    const baseline = rssMb()
    let peak = baseline
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb())
    }, 5)
    const start = performance.now()
    const ids = yield* queue.submitMany(Array.from({ length: TASKS }, (_, i) => {
      const mb = SIZES[i % SIZES.length]!
      return { definition: Hog, payload: { mb, ms: 150 }, options: declare ? { resources: { memoryMb: mb } } : {} }
    }))
    yield* Effect.forEach(ids, (id) => queue.await(Hog, id), { concurrency: "unbounded", discard: true })
    const seconds = (performance.now() - start) / 1000
    clearInterval(sampler)
    return { tasksPerSecond: TASKS / seconds, peakOverBaseline: peak - baseline }
  })

/**
 * A container-like limit: `limitMb` above this process's RSS at the first reading (the
 * runtime started, threads up), used = RSS now. The controller samples it every 100 ms while
 * the unconstrained workload runs.
 */
const containerMetrics = (limitMb: number): Layer.Layer<SystemMetrics.SystemMetrics> =>
  Layer.sync(SystemMetrics.SystemMetrics, () => {
    let baseline: number | undefined
    return SystemMetrics.SystemMetrics.of({
      read: Effect.map(Clock.currentTimeMillis, (at) => {
        const rss = rssMb()
        baseline ??= rss
        return { at, hostTotalMb: 1e6, hostFreeMb: 1e6, cgroupMaxMb: baseline + limitMb, cgroupCurrentMb: rss, rssMb: rss, loadAvg: 0 }
      })
    })
  })

const runtime = (extra: Partial<Troupe.Options>) =>
  Troupe.layer({ database: tmpDb(), handlersModule, workers: WORKERS, heapLimitMb: 128, memoryMb: BUDGET_MB, ...extra })

const run_ = <A, E>(effect: Effect.Effect<A, E, TaskQueue | MemoryPressure>, extra: Partial<Troupe.Options> = {}) =>
  Effect.runPromise(Effect.provide(effect, runtime(extra)) as Effect.Effect<A, unknown>)

const timelineOf = Effect.gen(function*() {
  const result = yield* workload(false)
  const pressure = yield* MemoryPressure
  return { ...result, timeline: yield* pressure.timeline }
})

const table = (timeline: ReadonlyArray<Change>) => {
  if (timeline.length === 0) return ["  (no change: the limit was never approached)"]
  const t0 = timeline[0]!.at
  const shown = 24
  return [
    "    t (s)   admission   pool target   memory in use   free",
    ...timeline.slice(0, shown).map((c) =>
      `  ${((c.at - t0) / 1000).toFixed(2).padStart(7)}   ${(c.underPressure ? "paused" : "open").padEnd(9)}   ` +
      `${"#".repeat(c.target).padEnd(WORKERS)} ${String(c.target).padStart(2)}   ${(c.usedShare * 100).toFixed(0).padStart(12)}%   ${c.freeMb.toFixed(0).padStart(4)} MiB`
    ),
    ...(timeline.length > shown ? [`  … ${timeline.length - shown} more changes`] : [])
  ]
}

export const run = async () => {
  console.log(`\n# resources (${WORKERS} worker threads, ${TASKS} tasks holding ${SIZES.join("/")} MiB for 150 ms; memory budget ${BUDGET_MB} MiB) — ${describeMachine()}`)
  const constrained = await run_(workload(true))
  const unconstrained = await run_(workload(false))
  console.log(`  requirements sum to ${(TASKS / SIZES.length) * SIZES.reduce((a, b) => a + b, 0)} MiB`)
  console.log(`  enforced (memoryMb declared)   ${constrained.tasksPerSecond.toFixed(1).padStart(6)} tasks/s   peak RSS over idle ${constrained.peakOverBaseline.toFixed(0).padStart(4)} MiB   (budget ${BUDGET_MB})`)
  console.log(`  unconstrained (none declared)  ${unconstrained.tasksPerSecond.toFixed(1).padStart(6)} tasks/s   peak RSS over idle ${unconstrained.peakOverBaseline.toFixed(0).padStart(4)} MiB`)

  const limit = 300
  const withPressure = await run_(timelineOf, {
    metrics: containerMetrics(limit),
    memorySampleEvery: "100 millis",
    memoryThreshold: 0.85,
    minFreeMb: 20,
    memoryMb: 1e6
  })
  console.log(`memory-pressure control against a ${limit} MiB container-like limit (nothing declared): ` +
    `${withPressure.tasksPerSecond.toFixed(1)} tasks/s, peak RSS over idle ${withPressure.peakOverBaseline.toFixed(0)} MiB`)
  for (const line of table(withPressure.timeline)) console.log(line)
  return { constrained, unconstrained, withPressure }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
