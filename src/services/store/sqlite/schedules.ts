import * as Effect from "effect/Effect"
import { run } from "./sql.js"

// The schedules table (one row per schedule, by name; a put replaces the whole row, so an
// `every` counts from the new one's creation): what `schedule` stores, and the next
// occurrence, which a firing process moves forward only from the value it read (two processes
// firing at once: one moves it, the other's occurrence is the same task by its idempotency key).

/** A row of the schedules table; payload and options are JSON. */
export interface ScheduleRow {
  readonly name: string
  readonly type: string
  readonly payload: string
  readonly cron: string | null
  readonly everyMs: number | null
  readonly timezone: string | null
  readonly misfire: string
  readonly options: string
  readonly nextAt: number
  readonly createdAt: number
  readonly updatedAt: number
}

export const put = (row: ScheduleRow) =>
  Effect.asVoid(run(
    `INSERT INTO schedules (name, type, payload, cron, every_ms, timezone, misfire, options, next_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET type = excluded.type, payload = excluded.payload, cron = excluded.cron,
       every_ms = excluded.every_ms, timezone = excluded.timezone, misfire = excluded.misfire, options = excluded.options,
       next_at = excluded.next_at, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    [row.name, row.type, row.payload, row.cron, row.everyMs, row.timezone, row.misfire, row.options, row.nextAt, row.createdAt, row.updatedAt]
  ))

export const remove = (name: string) =>
  Effect.map(run<{ readonly name: string }>("DELETE FROM schedules WHERE name = ? RETURNING name", [name]), (rows) => rows.length > 0)

export const list = Effect.map(
  run<{
    readonly name: string
    readonly type: string
    readonly payload: string
    readonly cron: string | null
    readonly every_ms: number | null
    readonly timezone: string | null
    readonly misfire: string
    readonly options: string
    readonly next_at: number
    readonly created_at: number
    readonly updated_at: number
  }>("SELECT name, type, payload, cron, every_ms, timezone, misfire, options, next_at, created_at, updated_at FROM schedules ORDER BY name"),
  (rows) =>
    rows.map((r): ScheduleRow => ({
      name: r.name,
      type: r.type,
      payload: r.payload,
      cron: r.cron,
      everyMs: r.every_ms === null ? null : Number(r.every_ms),
      timezone: r.timezone,
      misfire: r.misfire,
      options: r.options,
      nextAt: Number(r.next_at),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at)
    }))
)

/** Moves the next occurrence from `from` to `to`; false when another process moved it first. */
export const advance = (name: string, from: number, to: number) =>
  Effect.map(run<{ readonly name: string }>("UPDATE schedules SET next_at = ? WHERE name = ? AND next_at = ? RETURNING name", [to, name, from]), (rows) => rows.length > 0)
