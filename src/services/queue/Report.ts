import * as RateLimit from "../../domain/RateLimit.js"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Health from "../../domain/Health.js"
import * as Node from "../../domain/Node.js"
import * as Stats from "../../domain/Stats.js"
import type { StoreError } from "../../domain/TaskErrors.js"
import * as TaskStatus from "../../domain/TaskStatus.js"
import type { MemoryPressure } from "../resources/MemoryPressure.js"
import type { ResourceGovernor } from "../resources/ResourceGovernor.js"
import type { Scheduler } from "../scheduler/Scheduler.js"
import type { CountRow, TaskStore } from "../store/TaskStore.js"

// Statistics and health: counts from the store; throughput, run and wait times and workers
// from this process's scheduler (a producer-only process's no-op scheduler has none); the last
// hour's ends from every node (the others' from their heartbeats).

type Store = typeof TaskStore.Service

const byStatusOf = (rows: ReadonlyArray<CountRow>) => {
  const out = Object.fromEntries(TaskStatus.all.map((s) => [s, 0])) as Record<TaskStatus.TaskStatus, number>
  for (const r of rows) out[r.status] += r.count
  return out
}

const groupBy = (rows: ReadonlyArray<CountRow>, key: (r: CountRow) => string) => {
  const out: Record<string, Partial<Record<TaskStatus.TaskStatus, number>>> = {}
  for (const r of rows) {
    const group = out[key(r)] ??= {}
    group[r.status] = (group[r.status] ?? 0) + r.count
  }
  return out
}

interface Inputs {
  readonly store: Store
  readonly scheduler: Scheduler["Type"]
  readonly governor: ResourceGovernor["Type"]
  readonly pressure: MemoryPressure["Type"]
  readonly thresholds: Health.Thresholds
  readonly statsWindowMs: number
  readonly nodeTimeoutMs: number
}

const runtimeView = (inputs: Inputs) =>
  Effect.map(Effect.zip(inputs.scheduler.window, inputs.scheduler.workers), ([window, w]) => ({ window, threads: w.threads, workers: w.workers }))

/** Health with its reasons. Never fails: an unreachable store is itself a reason (offline). */
export const health = (inputs: Inputs): Effect.Effect<Health.Health> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const { threads, window, workers } = yield* runtimeView(inputs)
    // Waiting that an operator asked for (a paused queue or type) is not a symptom.
    const read = yield* Effect.either(Effect.flatMap(inputs.store.pauses, (pauses) =>
      Effect.map(
        pauses.queue ? Effect.succeed(Option.none<number>()) : inputs.store.oldestReadyAt(pauses.types),
        (oldest) => [oldest, pauses] as const
      )))
    const failures = window.samples.filter((s) => !s.ok).length
    const pressure = yield* inputs.pressure.state
    const memoryPressure = pressure?.underPressure === true
      ? `${pressure.last === null ? "" : `${(pressure.last.usedShare * 100).toFixed(0)}% in use, ${pressure.last.freeMb.toFixed(0)} MiB free; `}` +
        `admission paused, pool target ${pressure.target}`
      : null
    return Health.assess({
      attempts: window.samples.length,
      failures,
      oldestReadyAgeMs: read._tag === "Right" ? Option.getOrNull(Option.map(read.right[0], (at) => Math.max(0, now - at))) : null,
      // A thread being started or replaced counts: only slots whose starts fail do not.
      liveWorkers: threads ? workers.filter((w) => w.state !== "failed").length : null,
      startErrors: workers.flatMap((w) => (w.startError === null ? [] : [w.startError])),
      staleWorkers: workers.filter((w) => w.state === "stale").map((w) => w.slot),
      storeErrors: window.storeErrors,
      storeReachable: read._tag === "Right",
      queuePaused: read._tag === "Right" && read.right[1].queue,
      pausedTypes: read._tag === "Right" ? read.right[1].types : [],
      memoryPressure
    }, inputs.thresholds)
  })

export const stats = (inputs: Inputs): Effect.Effect<Stats.Stats, StoreError> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* inputs.store.countRows
    const paused = yield* inputs.store.pauses
    const { window, workers } = yield* runtimeView(inputs)
    const nodes = Node.view(yield* inputs.store.nodes, now, inputs.nodeTimeoutMs)
    const available = yield* inputs.governor.available
    const capacity = inputs.governor.capacity
    const pressure = yield* inputs.pressure.state
    const completed = window.samples.filter((s) => s.ok).length
    const failed = window.samples.length - completed
    return {
      at: now,
      counts: { byStatus: byStatusOf(rows), byType: groupBy(rows, (r) => r.type), byPriority: groupBy(rows, (r) => String(r.priority)) },
      throughput: { windowMs: window.windowMs, completed, failed, perSecond: (completed + failed) / (window.windowMs / 1000) },
      history: Stats.addHistories(window.history, nodes.filter((n) => n.id !== window.owner).map((n) => n.history)),
      resources: {
        capacity,
        inUse: { cpu: capacity.cpu - available.cpu, memoryMb: capacity.memoryMb - available.memoryMb, gpu: capacity.gpu - available.gpu },
        memory: pressure.last === null
          ? null
          : { usedShare: pressure.last.usedShare, freeMb: pressure.last.freeMb, underPressure: pressure.underPressure, poolTarget: pressure.target }
      },
      runMs: Stats.summarize(window.samples.map((s) => s.runMs)),
      waitMs: Stats.summarize(window.samples.map((s) => s.waitMs)),
      running: window.running,
      paused,
      rateLimits: (yield* inputs.store.rateBuckets({ busyAt: now, limit: 100 })).map((b) => ({
        bucket: b.bucket,
        type: b.type,
        rateKey: b.rateKey,
        limit: b.limit.limit,
        perMs: b.limit.perMs,
        available: RateLimit.allowance(b.limit, b.starts, now),
        opensAt: RateLimit.opensAt(b.limit, b.starts, now)
      })),
      workers: workers.map((w) => ({ ...w, uptimeMs: Math.max(0, now - w.startedAt) })),
      nodes,
      health: yield* health(inputs)
    }
  })
