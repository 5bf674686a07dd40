import * as Context from "effect/Context"
import type { FinishedSpan } from "../../domain/Trace.js"

/** What the runtime needs to know about telemetry, read once per service (not per task). */
export interface Settings {
  /** Spans for submit, dispatch and each attempt (worker threads record theirs too). */
  readonly tracing: boolean
  /** Effect Metric counters, gauges and histograms of the queue. */
  readonly metrics: boolean
  /** How often queue depth and running count are sampled into their gauges (ms). */
  readonly sampleEveryMs: number
  /**
   * Hands spans that ended in a worker thread to the exporter, with their original ids (the
   * thread has no exporter of its own).
   */
  readonly exportSpans: (spans: ReadonlyArray<FinishedSpan>) => void
}

/** Telemetry off: no spans are created on the hot path, no metric is updated, nothing is exported. */
export const off: Settings = { tracing: false, metrics: false, sampleEveryMs: 5000, exportSpans: () => {} }

/**
 * Whether tracing and metrics are on. A Reference, off by default, so code that creates spans
 * or updates metrics checks one flag first and an app without telemetry pays nothing.
 * Provided by the runtime's telemetry layer (src/runtime/Telemetry.ts).
 */
export class Telemetry extends Context.Reference<Telemetry>()("troupe/Telemetry", { defaultValue: () => off }) {}
