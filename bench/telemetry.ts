/**
 * The cost of telemetry: no-op tasks end to end (SQLite, durable) with telemetry off and with
 * tracing + metrics on — spans through a BatchSpanProcessor into an exporter that only counts
 * them, metrics through a periodic reader into an in-memory exporter — on fiber execution and
 * on worker threads, in the same run. Prints tasks/s, the overhead and spans per task.
 */
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"
import type { TaskEvents } from "../src/services/events/TaskEvents.js"
import type { TaskQueue } from "../src/services/queue/TaskQueue.js"
import { submitAndDrain } from "./drain.js"
import { Noop, NoopFiber } from "./e2eHandlers.js"
import { describeMachine, median } from "./machine.js"
import { tmpDb } from "./raw.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

/** Counts what it is given; exports nowhere. */
class CountingExporter implements SpanExporter {
  spans = 0
  export(spans: Array<ReadableSpan>, done: (result: { code: 0 }) => void): void {
    this.spans += spans.length
    done({ code: 0 })
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const runIn = <A, E>(effect: Effect.Effect<A, E, TaskQueue | TaskEvents>, telemetry: Troupe.Options["telemetry"]) =>
  Effect.runPromise(
    Effect.provide(effect, Troupe.layer({ database: tmpDb(), handlersModule, workers: 2, shutdownTimeout: 0, ...(telemetry ? { telemetry } : {}) })) as Effect.Effect<A, unknown>
  )

const once = async (definition: typeof Noop | typeof NoopFiber, count: number, on: boolean) => {
  const exporter = new CountingExporter()
  const telemetry: Troupe.Options["telemetry"] = on
    ? {
      // A queue large enough that nothing is dropped, so spans per task is exact.
      spanProcessor: new BatchSpanProcessor(exporter, { maxQueueSize: 4 * count, maxExportBatchSize: 512, scheduledDelayMillis: 200 }),
      metricReader: new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 1000
      })
    }
    : undefined
  const msPerTask = await runIn(submitAndDrain(definition, count, (n) => ({ n })), telemetry)
  // The layer is released by now: the provider flushed every span to the exporter.
  return { tasksPerSecond: 1000 / msPerTask, spansPerTask: exporter.spans / count }
}

export const run = async () => {
  const count = Number(process.env["BENCH_TASKS"] ?? 20_000)
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  console.log(`\n# telemetry cost (SQLite, durable) — ${describeMachine()}`)
  console.log(`no-op tasks, submitMany ${count} then drain, off vs tracing + metrics on (BatchSpanProcessor, counting exporter), median of ${runs}:`)
  const results: Record<string, { off: number; on: number; spans: number }> = {}
  for (const [label, definition] of [["fiber execution", NoopFiber], ["worker threads (2)", Noop]] as const) {
    const off: Array<number> = []
    const on: Array<number> = []
    const spans: Array<number> = []
    // Alternated, so drift on the machine hits both alike.
    for (let r = 0; r < runs; r++) {
      off.push((await once(definition, count, false)).tasksPerSecond)
      const traced = await once(definition, count, true)
      on.push(traced.tasksPerSecond)
      spans.push(traced.spansPerTask)
    }
    const m = { off: median(off), on: median(on), spans: median(spans) }
    results[label] = m
    const overhead = ((m.off - m.on) / m.off) * 100
    console.log(
      `  ${label.padEnd(20)} off ${m.off.toFixed(0).padStart(7)} tasks/s   on ${m.on.toFixed(0).padStart(7)} tasks/s   ` +
        `overhead ${overhead.toFixed(1).padStart(5)} %   ${m.spans.toFixed(2)} spans/task`
    )
  }
  return results
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
