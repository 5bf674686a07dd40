import * as Schema from "effect/Schema"
import { Health } from "./Health.js"
import { NodeStats } from "./Node.js"
import { TaskStatus } from "./TaskStatus.js"
import { WorkerStats } from "./WorkerStats.js"

/** Mean and 95th percentile of a duration over the stats window (null: no sample). */
export const Summary = Schema.Struct({
  mean: Schema.NullOr(Schema.Number),
  p50: Schema.NullOr(Schema.Number),
  p95: Schema.NullOr(Schema.Number),
  p99: Schema.NullOr(Schema.Number)
})
export type Summary = typeof Summary.Type

const ByStatus = Schema.Record({ key: TaskStatus, value: Schema.Number })
const SomeStatuses = Schema.Record({ key: Schema.String, value: Schema.partialWith(ByStatus, { exact: true }) })

/** A snapshot of the queue and of this process's runtime. */
const Amounts = Schema.Struct({ cpu: Schema.Number, memoryMb: Schema.Number, gpu: Schema.Number })

export const Stats = Schema.Struct({
  at: Schema.Number,
  counts: Schema.Struct({ byStatus: ByStatus, byType: SomeStatuses, byPriority: SomeStatuses }),
  /** Attempts that ended in the sliding window, in this process. */
  throughput: Schema.Struct({ windowMs: Schema.Number, completed: Schema.Number, failed: Schema.Number, perSecond: Schema.Number }),
  /**
   * Attempts ended per minute over the last hour, oldest first: this process's, and every other
   * node's on the store as its last heartbeat reported them (the whole cluster's).
   */
  history: Schema.Array(Schema.Struct({ at: Schema.Number, completed: Schema.Number, failed: Schema.Number })),
  /**
   * The resource budget of this process (what tasks declare they need), what running attempts
   * hold of it, and the memory as the pressure controller last saw it.
   */
  resources: Schema.Struct({
    capacity: Amounts,
    inUse: Amounts,
    memory: Schema.NullOr(Schema.Struct({ usedShare: Schema.Number, freeMb: Schema.Number, underPressure: Schema.Boolean, poolTarget: Schema.Number }))
  }),
  /** Time from claim to outcome (ms). */
  runMs: Summary,
  /** Time from ready (run-at) to claim (ms). */
  waitMs: Summary,
  /** Attempts running in this process now. */
  running: Schema.Number,
  paused: Schema.Struct({ queue: Schema.Boolean, types: Schema.Array(Schema.String) }),
  /**
   * Rate limits spending their allowance now (across the cluster, as the store holds them): per
   * bucket (a type, or `type/key` when per key), how many may start now of `limit` per `perMs`,
   * and when the next may start (`at` when one may now). Idle buckets, whose whole allowance is
   * there, are left out; at most 100.
   */
  rateLimits: Schema.Array(Schema.Struct({
    bucket: Schema.String,
    type: Schema.String,
    rateKey: Schema.NullOr(Schema.String),
    limit: Schema.Number,
    perMs: Schema.Number,
    available: Schema.Number,
    opensAt: Schema.Number
  })),
  /** Worker threads, with how long each has been up (ms). */
  workers: Schema.Array(Schema.Struct({ ...WorkerStats.fields, uptimeMs: Schema.Number })),
  /**
   * Every node running tasks on this store (this process included, when it runs tasks), from
   * their heartbeats: threads, load and memory of each, who is alive, who leads.
   */
  nodes: Schema.Array(NodeStats),
  health: Health
})
export type Stats = typeof Stats.Type

/** Mean, p50, p95 and p99 (nearest rank) of the values. */
export const summarize = (values: ReadonlyArray<number>): Summary => {
  if (values.length === 0) return { mean: null, p50: null, p95: null, p99: null }
  const sorted = [...values].sort((a, b) => a - b)
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
  return { mean, p50: rank(0.5), p95: rank(0.95), p99: rank(0.99) }
}

type Minute = Stats["history"][number]

/**
 * This process's last hour (`own`: every minute, oldest first) with what other nodes reported
 * ([minute, completed, failed], the minutes with ends); minutes outside the hour are left out.
 */
export const addHistories = (own: ReadonlyArray<Minute>, others: ReadonlyArray<ReadonlyArray<readonly [number, number, number]>>): Array<Minute> => {
  const sum = own.map((m) => ({ ...m }))
  const index = new Map(sum.map((m, i) => [m.at, i]))
  for (const minutes of others) {
    for (const [at, completed, failed] of minutes) {
      const m = sum[index.get(at) ?? -1]
      if (m === undefined) continue
      m.completed += completed
      m.failed += failed
    }
  }
  return sum
}
