import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as TaskStatus from "../../domain/TaskStatus.js"

// The queue's metrics, as Effect Metrics (exported through @effect/opentelemetry when
// telemetry is on). They are only updated when Telemetry.metrics is on.

/** Tasks in the store by status (label `status`), sampled. */
export const queueDepth = Metric.gauge("troupe.queue.depth", { description: "Tasks in the store by status" })
/** Attempts running in this process, sampled. */
export const running = Metric.gauge("troupe.tasks.running", { description: "Attempts running in this process" })
/** Tasks completed (label `task.type`). */
export const completed = Metric.counter("troupe.tasks.completed", { description: "Tasks completed", incremental: true })
/** Tasks failed for good, no retry left (label `task.type`). */
export const failed = Metric.counter("troupe.tasks.failed", { description: "Tasks failed with no retry left", incremental: true })
/** Attempts that failed, retried or not (label `task.type`). */
export const attemptsFailed = Metric.counter("troupe.attempts.failed", { description: "Failed attempts", incremental: true })

const boundaries = MetricBoundaries.exponential({ start: 1, factor: 2, count: 20 })
/** Claim to outcome, per attempt (ms; label `task.type`). */
export const runTime = Metric.histogram("troupe.task.run_time", boundaries, "Attempt run time in ms (claim to outcome)")
/** Ready (run-at) to claim, per attempt (ms; label `task.type`). */
export const waitTime = Metric.histogram("troupe.task.wait_time", boundaries, "Time from ready to claimed in ms")

const typeLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
/** The `task.type` label, one array per type (updates happen per task). */
export const typeLabel = (type: string): ReadonlyArray<MetricLabel.MetricLabel> => {
  let labels = typeLabels.get(type)
  if (labels === undefined) {
    // Bounded: task types are registered names, but a store may hold unknown ones.
    if (typeLabels.size > 1000) typeLabels.clear()
    typeLabels.set(type, labels = [MetricLabel.make("task.type", type)])
  }
  return labels
}

const statusLabels = new Map(TaskStatus.all.map((s) => [s, [MetricLabel.make("status", s)]] as const))

/** Records one ended attempt. */
export const recordAttempt = (type: string, outcome: "completed" | "retrying" | "failed", runMs: number, waitMs: number): void => {
  const labels = typeLabel(type)
  if (outcome === "completed") completed.unsafeUpdate(1, labels)
  else {
    attemptsFailed.unsafeUpdate(1, labels)
    if (outcome === "failed") failed.unsafeUpdate(1, labels)
  }
  runTime.unsafeUpdate(runMs, labels)
  waitTime.unsafeUpdate(waitMs, labels)
}

/** Sets the sampled gauges. */
export const recordDepth = (counts: Readonly<Record<TaskStatus.TaskStatus, number>>, inFlight: number): void => {
  for (const [status, labels] of statusLabels) queueDepth.unsafeUpdate(counts[status], labels)
  running.unsafeUpdate(inFlight, [])
}
