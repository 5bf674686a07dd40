import type { Log } from "../../domain/Activity.js"
import type { Task } from "../../domain/Task.js"

// Human output for the CLI: tables, progress bars, durations. Pure functions over the JSON the
// API returns, so they are tested without a terminal.

/** A task as the API answers it (api/Api.ts). */
export type TaskView = Task

/** A fixed-width table: a header row, then one row per item; columns padded to their widest cell. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** `[#######.......]  45%` */
export const bar = (percent: number, width = 24): string => {
  const p = Math.max(0, Math.min(100, percent))
  const filled = Math.round((p / 100) * width)
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${p.toFixed(0).padStart(3)}%`
}

/** 950 ms, 12.3 s, 4m05s, 2h03m. */
export const duration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}

/** Time since an instant, as "3.2 s ago". */
export const ago = (at: number, now: number): string => `${duration(Math.max(0, now - at))} ago`

const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`)

/** What is paused as a whole: the queue, task types (stats' `paused`). */
export interface Paused {
  readonly queue: boolean
  readonly types: ReadonlyArray<string>
}

const waiting: ReadonlyArray<string> = ["pending", "delayed", "retrying", "blocked"]

/** Why a waiting task does not start although it could: its queue or its type is paused. */
export const heldBy = (t: Pick<TaskView, "status" | "type">, paused: Paused | undefined): string | undefined =>
  paused === undefined || !waiting.includes(t.status) ? undefined
  : paused.queue ? "queue paused"
  : paused.types.includes(t.type) ? "type paused"
  : undefined

/** What is paused, and how to undo it; undefined when nothing is. */
export const pausedNote = (paused: Paused): string | undefined => {
  const what = [
    ...(paused.queue ? ["the queue (troupe resume --queue)"] : []),
    ...paused.types.map((t) => `type ${t} (troupe resume --type ${t})`)
  ]
  return what.length === 0 ? undefined : `${what.join(", ")}; their waiting tasks do not start`
}

/** The list view: one row per task; a waiting task held by a pause says so. */
export const tasks = (list: ReadonlyArray<TaskView>, now: number, paused?: Paused): string =>
  list.length === 0 ? "no tasks" : table(
    ["ID", "TYPE", "STATUS", "PRI", "ATTEMPT", "PROGRESS", "UPDATED"],
    list.map((t) => [
      t.id,
      t.type,
      heldBy(t, paused) === undefined ? t.status : `${t.status} (${heldBy(t, paused)})`,
      String(t.priority),
      String(t.attempt),
      t.status === "running" || t.progress > 0 ? `${t.progress.toFixed(0)}%` : "",
      ago(t.updatedAt, now)
    ])
  )

/** Schedules: when each recurs and its next occurrence. */
export const schedules = (
  list: ReadonlyArray<{ readonly name: string; readonly type: string; readonly cron: string | null; readonly everyMs: number | null; readonly timezone: string | null; readonly misfire: string; readonly nextAt: number }>,
  now: number
): string =>
  list.length === 0 ? "no schedules" : table(
    ["NAME", "TYPE", "WHEN", "MISSED", "NEXT"],
    list.map((s) => [
      s.name,
      s.type,
      s.cron !== null ? `cron ${s.cron}${s.timezone === null ? "" : ` (${s.timezone})`}` : `every ${duration(s.everyMs ?? 0)}`,
      s.misfire === "skip" ? "skipped" : "run once",
      `${new Date(s.nextAt).toISOString().slice(0, 19).replace("T", " ")} UTC (in ${duration(Math.max(0, s.nextAt - now))})`
    ])
  )

/** The detail view of one task. */
export const task = (t: TaskView, now: number, paused?: Paused): string => {
  const held = heldBy(t, paused)
  const rows: Array<[string, string]> = [
    ["id", t.id],
    ["type", t.type],
    ["status", held === undefined ? t.status : `${t.status}, held: ${held === "queue paused" ? "the queue is paused (troupe resume --queue)" : `its type is paused (troupe resume --type ${t.type})`}`],
    ["priority", String(t.priority)],
    ["attempt", String(t.attempt)]
  ]
  if (t.status === "running" || t.progress > 0) rows.push(["progress", `${bar(t.progress)}${t.description === null ? "" : ` ${t.description}`}`])
  if (t.key !== null) rows.push(["key", t.key])
  if (t.dependsOn.length > 0) rows.push(["depends on", t.dependsOn.join(", ")])
  rows.push(["created", ago(t.createdAt, now)])
  if (t.status === "delayed" || t.status === "retrying") rows.push(["runs in", duration(Math.max(0, t.runAt - now))])
  if (t.startedAt !== null) rows.push(["started", ago(t.startedAt, now)])
  if (t.finishedAt !== null && t.startedAt !== null) rows.push(["ran for", duration(t.finishedAt - t.startedAt)])
  if (t.status === "completed") rows.push(["result", cut(JSON.stringify(t.result) ?? "null", 200)])
  for (const e of t.errors) rows.push([`error #${e.attempt}`, cut(`${e.error._tag}: ${e.error.message}`, 200)])
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")
}

/** One log line: `#attempt n level message`. */
/** A stored or streamed log line as the API sends it. */
export type LogLine = Pick<Log, "attempt" | "n" | "level" | "message">

export const logLine = (l: LogLine): string =>
  `#${l.attempt} ${String(l.n).padStart(4)} ${l.level.padEnd(5)} ${l.message}`

/** Counts by status, the non-zero ones. */
export const counts = (byStatus: Readonly<Record<string, number>>): string =>
  Object.entries(byStatus).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(", ") || "no tasks"
