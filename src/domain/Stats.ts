import type { Health } from "./Health.js"
import type { TaskStatus } from "./TaskStatus.js"
import type { WorkerStats } from "./WorkerStats.js"

/** Mean and 95th percentile of a duration over the stats window (null: no sample). */
export interface Summary {
  readonly mean: number | null
  readonly p95: number | null
}

/** A snapshot of the queue and of this process's runtime. */
export interface Stats {
  readonly at: number
  readonly counts: {
    readonly byStatus: Readonly<Record<TaskStatus, number>>
    readonly byType: Readonly<Record<string, Readonly<Partial<Record<TaskStatus, number>>>>>
    readonly byPriority: Readonly<Record<string, Readonly<Partial<Record<TaskStatus, number>>>>>
  }
  /** Attempts that ended in the sliding window, in this process. */
  readonly throughput: {
    readonly windowMs: number
    readonly completed: number
    readonly failed: number
    readonly perSecond: number
  }
  /** Time from claim to outcome (ms). */
  readonly runMs: Summary
  /** Time from ready (run-at) to claim (ms). */
  readonly waitMs: Summary
  /** Attempts running in this process now. */
  readonly running: number
  readonly paused: { readonly queue: boolean; readonly types: ReadonlyArray<string> }
  /** Worker threads, with how long each has been up (ms). */
  readonly workers: ReadonlyArray<WorkerStats & { readonly uptimeMs: number }>
  readonly health: Health
}

/** Mean and p95 (nearest rank) of the values. */
export const summarize = (values: ReadonlyArray<number>): Summary => {
  if (values.length === 0) return { mean: null, p95: null }
  const sorted = [...values].sort((a, b) => a - b)
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length
  const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!
  return { mean, p95 }
}
