import * as Schema from "effect/Schema"

// What a running handler reports besides its outcome: progress and log lines. They travel
// from worker threads on one long-lived channel per worker (FIELD-NOTES.md: no Stream per
// task), are coalesced on the way, and reach subscribers and the store.

export const LogLevel = Schema.Literal("debug", "info", "warn", "error")
export type LogLevel = typeof LogLevel.Type

/** Longest progress description kept (characters); longer ones are cut. */
export const MAX_DESCRIPTION = 1024
/** Longest log message kept (characters); longer ones are cut. */
export const MAX_MESSAGE = 8192

/** The latest progress of one attempt. */
export const Progress = Schema.TaggedStruct("Progress", {
  taskId: Schema.String,
  attempt: Schema.Int,
  /** 0–100. */
  percent: Schema.Number,
  description: Schema.NullOr(Schema.String),
  at: Schema.Number
})
export type Progress = typeof Progress.Type

/** One log line of one attempt; `n` numbers the attempt's lines from 1. */
export const Log = Schema.TaggedStruct("Log", {
  taskId: Schema.String,
  attempt: Schema.Int,
  n: Schema.Int,
  level: LogLevel,
  message: Schema.String,
  at: Schema.Number
})
export type Log = typeof Log.Type

export const Activity = Schema.Union(Progress, Log)
export type Activity = typeof Activity.Type

/** Clamps a reported percentage to 0–100 (NaN counts as 0). */
export const clampPercent = (percent: number): number =>
  Number.isFinite(percent) ? Math.max(0, Math.min(100, percent)) : percent === Infinity ? 100 : 0

/** Cuts text to `max` characters, marking the cut. */
export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`

/**
 * Keeps the last progress per attempt and every log line, in order: what a burst of reports
 * boils down to before it crosses a thread or reaches the store.
 */
export const coalesce = (items: ReadonlyArray<Activity>): Array<Activity> => {
  const lastProgress = new Map<string, number>()
  items.forEach((item, i) => {
    if (item._tag === "Progress") lastProgress.set(`${item.taskId}:${item.attempt}`, i)
  })
  return items.filter((item, i) => item._tag !== "Progress" || lastProgress.get(`${item.taskId}:${item.attempt}`) === i)
}
