import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { WorkerStats } from "./WorkerStats.js"

// The nodes sharing one store (processes running a scheduler, on one host or many): what each
// reports with its heartbeat, and how the others read it — alive or dead, and which one leads
// the maintenance duties.

/** What a node writes with each heartbeat. */
export const NodeInfo = Schema.Struct({
  host: Schema.String,
  pid: Schema.Number,
  /** Attempts it runs now. */
  running: Schema.Number,
  /** Attempts it ended per second over its stats window. */
  perSecond: Schema.Number,
  /** Its worker threads (none for a node that runs only in-process handlers). */
  workers: Schema.Array(WorkerStats),
  /** Its memory as last sampled (null: not sampled yet). */
  memory: Schema.NullOr(Schema.Struct({ usedShare: Schema.Number, freeMb: Schema.Number, underPressure: Schema.Boolean })),
  /**
   * Attempts it ended per minute over the last hour, the minutes with any: [minute start (epoch
   * ms), completed, failed]. Stats add every node's up for the cluster's chart.
   */
  history: Schema.optionalWith(Schema.Array(Schema.Tuple(Schema.Number, Schema.Number, Schema.Number)), { default: () => [] })
})
export type NodeInfo = typeof NodeInfo.Type

/** A node as stats and health show it. */
export const NodeStats = Schema.Struct({
  /** Its lease owner: host, pid, process start and instance. */
  id: Schema.String,
  ...NodeInfo.fields,
  startedAt: Schema.Number,
  /** Its last heartbeat, epoch ms. */
  seenAt: Schema.Number,
  /** Heartbeating within the node timeout; a node that is not is declared dead. */
  alive: Schema.Boolean,
  /** It runs the maintenance duties (recoveries, retention) now. */
  leader: Schema.Boolean
})
export type NodeStats = typeof NodeStats.Type

/** A row of the nodes table. */
export interface NodeRow {
  readonly owner: string
  readonly startedAt: number
  readonly seenAt: number
  /** NodeInfo as JSON. */
  readonly info: string
}

const decodeInfo = Schema.decodeUnknownOption(Schema.parseJson(NodeInfo))

const unknownInfo: NodeInfo = { host: "?", pid: 0, running: 0, perSecond: 0, workers: [], memory: null, history: [] }

/** Whether a node heartbeated within `timeoutMs` of `now` (by its clock and the reader's: for display). */
export const isAlive = (row: Pick<NodeRow, "seenAt">, now: number, timeoutMs: number) => row.seenAt >= now - timeoutMs

/**
 * The leader: the longest-running node that is alive (oldest start, then owner); every node
 * computes the same answer from the same rows, so no vote is needed. None when none is alive.
 */
export const leaderOf = (rows: ReadonlyArray<NodeRow>, alive: (row: NodeRow) => boolean): string | undefined => {
  let best: NodeRow | undefined
  for (const row of rows) {
    if (!alive(row)) continue
    if (best === undefined || row.startedAt < best.startedAt || (row.startedAt === best.startedAt && row.owner < best.owner)) best = row
  }
  return best?.owner
}

/** The nodes as stats show them, oldest first. */
export const view = (rows: ReadonlyArray<NodeRow>, now: number, timeoutMs: number): Array<NodeStats> => {
  const leader = leaderOf(rows, (row) => isAlive(row, now, timeoutMs))
  return [...rows]
    .sort((a, b) => a.startedAt - b.startedAt || (a.owner < b.owner ? -1 : 1))
    .map((row) => ({
      id: row.owner,
      ...Option.getOrElse(decodeInfo(row.info), () => unknownInfo),
      startedAt: row.startedAt,
      seenAt: row.seenAt,
      alive: isAlive(row, now, timeoutMs),
      leader: row.owner === leader
    }))
}
