import * as Schema from "effect/Schema"

/** How the runtime is doing, from best to worst: healthy, warning, critical, offline. */
export const Level = Schema.Literal("healthy", "warning", "critical", "offline")
export type Level = typeof Level.Type

export interface Thresholds {
  /** Share of attempts that failed in the stats window: warning at or above this. */
  readonly failureRateWarning: number
  /** … critical at or above this. */
  readonly failureRateCritical: number
  /** A failure rate counts only over at least this many attempts. */
  readonly minAttempts: number
  /** Age of the oldest ready (pending) task: warning at or above this (ms). */
  readonly oldestReadyWarningMs: number
  /** … critical at or above this (ms). */
  readonly oldestReadyCriticalMs: number
}

export interface Inputs {
  /** Attempts that ended in the window, and how many of them failed. */
  readonly attempts: number
  readonly failures: number
  /** How long the oldest ready task has waited (ms), if any is ready. */
  readonly oldestReadyAgeMs: number | null
  /**
   * Worker slots with a thread that runs or is being started (a thread replaced after a crash
   * counts: it is not an outage), or null when no task type runs on threads.
   */
  readonly liveWorkers: number | null
  /** Why threads could not be started (slots whose starts fail). */
  readonly startErrors?: ReadonlyArray<string>
  /** Store errors in the window. */
  readonly storeErrors: number
  /** Whether the store answered just now. */
  readonly storeReachable: boolean
  readonly queuePaused: boolean
  readonly pausedTypes: ReadonlyArray<string>
  /** A description of the memory pressure admission is paused for, if any. */
  readonly memoryPressure?: string | null
  /** Worker slots whose idle thread missed its heartbeats. */
  readonly staleWorkers?: ReadonlyArray<number>
}

export const Health = Schema.Struct({
  level: Level,
  /** Why it is not healthy (empty when healthy); informational notes may appear at any level. */
  reasons: Schema.Array(Schema.String)
})
export type Health = typeof Health.Type

const order: ReadonlyArray<Level> = ["healthy", "warning", "critical", "offline"]
const worse = (a: Level, b: Level): Level => (order.indexOf(a) >= order.indexOf(b) ? a : b)

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** Assesses health from its inputs; pure, so every threshold is tested directly. */
export const assess = (inputs: Inputs, t: Thresholds): Health => {
  let level: Level = "healthy"
  const reasons: Array<string> = []
  const flag = (at: Level, reason: string) => {
    level = worse(level, at)
    reasons.push(reason)
  }
  if (!inputs.storeReachable) flag("offline", "the task store does not answer")
  const startErrors = inputs.startErrors ?? []
  if (inputs.liveWorkers === 0) {
    flag("offline", `no worker thread can be started${startErrors.length > 0 ? `: ${startErrors[0]}` : ""}`)
  } else if (startErrors.length > 0) {
    flag("critical", `${startErrors.length} worker thread(s) cannot be started: ${startErrors[0]}`)
  }
  if (inputs.storeErrors > 0) flag("critical", `${inputs.storeErrors} store error(s) in the stats window`)
  if (inputs.attempts >= t.minAttempts && inputs.attempts > 0) {
    const rate = inputs.failures / inputs.attempts
    const text = `failure rate ${(rate * 100).toFixed(1)}% (${inputs.failures} of ${inputs.attempts} attempts)`
    if (rate >= t.failureRateCritical) flag("critical", `${text} ≥ ${(t.failureRateCritical * 100).toFixed(0)}%`)
    else if (rate >= t.failureRateWarning) flag("warning", `${text} ≥ ${(t.failureRateWarning * 100).toFixed(0)}%`)
  }
  if (inputs.oldestReadyAgeMs !== null) {
    const age = inputs.oldestReadyAgeMs
    if (age >= t.oldestReadyCriticalMs) flag("critical", `the oldest ready task has waited ${seconds(age)} ≥ ${seconds(t.oldestReadyCriticalMs)}`)
    else if (age >= t.oldestReadyWarningMs) flag("warning", `the oldest ready task has waited ${seconds(age)} ≥ ${seconds(t.oldestReadyWarningMs)}`)
  }
  if (inputs.queuePaused) flag("warning", "the queue is paused")
  if (inputs.memoryPressure != null) flag("warning", `memory pressure: ${inputs.memoryPressure}`)
  if (inputs.staleWorkers !== undefined && inputs.staleWorkers.length > 0) {
    flag("warning", `worker(s) ${inputs.staleWorkers.join(", ")} missed their heartbeats while idle (event loop blocked outside any task?)`)
  }
  if (inputs.pausedTypes.length > 0) reasons.push(`paused task types: ${inputs.pausedTypes.join(", ")}`)
  return { level, reasons }
}
