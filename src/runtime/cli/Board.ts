import * as Effect from "effect/Effect"
import type { TaskEvent } from "../../domain/TaskEvent.js"
import { fit } from "./Screen.js"
import * as Render from "./Render.js"

// What the live view knows, and the frame drawn from it: a bar per running task under a header
// of counts. Events move tasks on and off the board as they happen; a snapshot read from the
// server every second corrects it (an event lost with a dropped connection, tasks that were
// running before the view opened), so the bars are the tasks that run. The header's `running`
// is the number of bars: the two cannot disagree.

/** A running task as a snapshot reports it. */
export interface RunningTask {
  readonly id: string
  readonly type: string
  readonly progress: number
  readonly description: string | null
}

/** The server's view at one moment: counts by status and the running tasks. */
export interface Snapshot {
  readonly counts: Readonly<Record<string, number>>
  readonly running: ReadonlyArray<RunningTask>
  /** false when `running` was cut at a limit: tasks missing from it may still run. */
  readonly complete: boolean
}

/** How many running tasks a snapshot reads (beyond it, the board trusts the events). */
export const snapshotLimit = 500

/** A snapshot from two reads: the counts, and the running tasks (at most `snapshotLimit`). */
export const snapshot = <E1, E2>(
  counts: Effect.Effect<Readonly<Record<string, number>>, E1>,
  running: Effect.Effect<ReadonlyArray<RunningTask>, E2>
): Effect.Effect<Snapshot, E1 | E2> =>
  Effect.map(Effect.all([counts, running]), ([c, r]) => ({ counts: c, running: r, complete: r.length < snapshotLimit }))

interface Bar {
  readonly type: string
  percent: number
  description: string | null
  /** The last change heard about it, by the board's event count. */
  heard: number
  /**
   * Whether its progress came from an event. A snapshot's progress is the stored one, which
   * trails the events (reports are stored in batches): it fills in a bar that heard none, and
   * never takes one back.
   */
  reported: boolean
}

const ended = ["completed", "failed", "cancelled"] as const

export class Board {
  private heard = 0
  readonly bars = new Map<string, Bar>()
  /** Tasks that left `running`, and when (by event count), until a later snapshot covers them. */
  private readonly left = new Map<string, number>()
  readonly ended = { completed: 0, failed: 0, cancelled: 0 }
  counts: Readonly<Record<string, number>> | undefined

  /** Applies an event; returns the permanent lines it is worth (failures, retries, requeues). */
  apply(e: TaskEvent): Array<string> {
    this.heard++
    switch (e._tag) {
      case "StatusChanged": {
        const was = this.bars.get(e.id)
        if (e.status === "running") {
          // Put on the board by a snapshot read as it started: it keeps the stored progress. A
          // bar that heard reports is a previous attempt's (its end was lost): it starts over.
          if (was !== undefined && !was.reported) was.heard = this.heard
          else this.bars.set(e.id, { type: e.type, percent: 0, description: null, heard: this.heard, reported: false })
          this.left.delete(e.id)
          return []
        }
        this.bars.delete(e.id)
        this.left.set(e.id, this.heard)
        if ((ended as ReadonlyArray<string>).includes(e.status)) this.ended[e.status as typeof ended[number]]++
        if (e.status === "failed" || e.status === "cancelled" || e.status === "retrying") return [`${e.status.padEnd(9)} ${e.type} ${e.id}`]
        if (was !== undefined && e.status === "pending") return [`requeued  ${e.type} ${e.id}`]
        return []
      }
      case "Progress": {
        const bar = this.bars.get(e.taskId)
        if (bar !== undefined) {
          bar.percent = e.percent
          bar.description = e.description
          bar.heard = this.heard
          bar.reported = true
        }
        return []
      }
      case "Log":
        return []
    }
  }

  /** Marks the moment a snapshot is asked for: pass it to `reconcile` with the answer. */
  mark(): number {
    return this.heard
  }

  /** Corrects the board by a snapshot asked for at `since` (events heard after it win). */
  reconcile(snapshot: Snapshot, since: number): void {
    this.counts = snapshot.counts
    const running = new Set<string>()
    for (const t of snapshot.running) {
      running.add(t.id)
      const bar = this.bars.get(t.id)
      if (bar !== undefined) {
        if (bar.heard <= since && (!bar.reported || t.progress > bar.percent)) {
          bar.percent = t.progress
          bar.description = t.description
        }
      } else if ((this.left.get(t.id) ?? -1) <= since) {
        this.bars.set(t.id, { type: t.type, percent: t.progress, description: t.description, heard: since, reported: false })
      }
    }
    if (snapshot.complete) {
      for (const [id, bar] of this.bars) if (bar.heard <= since && !running.has(id)) this.bars.delete(id)
    }
    for (const [id, at] of this.left) if (at <= since) this.left.delete(id)
  }
}

/** The header: counts (with `running` = the bars) and what ended since the view opened. */
const header = (board: Board): Array<string> => {
  const counts = { ...board.counts, running: board.bars.size }
  return [
    `queue  ${Render.counts(counts)}`,
    `ended  ${board.ended.completed} completed, ${board.ended.failed} failed, ${board.ended.cancelled} cancelled since this view opened`
  ]
}

/** The region: the header, then a bar per running task (the first `maxBars`), cut to `columns`. */
export const frame = (board: Board, columns: number, maxBars = 10): Array<string> => {
  const running = [...board.bars.entries()]
  const shown = running.slice(0, maxBars)
  const typeWidth = Math.max(4, ...shown.map(([, b]) => b.type.length))
  const barWidth = columns >= 100 ? 24 : 12
  const lines = [
    ...header(board),
    ...shown.map(([id, b]) => `  ${b.type.padEnd(typeWidth)} ${id}  ${Render.bar(b.percent, barWidth)}${b.description === null ? "" : `  ${b.description}`}`)
  ]
  if (running.length > maxBars) lines.push(`  … and ${running.length - maxBars} more running`)
  return lines.map((l) => fit(l, columns))
}

/** The one-line summary printed every few seconds when there is no live region. */
export const summary = (board: Board): string => header(board).join(" · ")
