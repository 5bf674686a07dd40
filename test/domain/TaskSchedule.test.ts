import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as TaskSchedule from "../../src/domain/TaskSchedule.js"

// The arithmetic of a schedule's occurrences: given instants, no clock.

const at = (iso: string) => new Date(iso).getTime()
const iso = (ms: number) => new Date(ms).toISOString()
const ruleOf = (options: Parameters<typeof TaskSchedule.rule>[0], anchor = 0) => Either.getOrThrow(TaskSchedule.rule(options, anchor))

/** Every occurrence from the first after `start` up to `end`, as instants. */
const occurrences = (rule: TaskSchedule.Rule, start: number, end: number) => {
  const out: Array<string> = []
  for (let t = TaskSchedule.nextAfter(rule, start); t <= end; t = TaskSchedule.nextAfter(rule, t)) out.push(iso(t))
  return out
}

describe("TaskSchedule", () => {
  it("a cron in a time zone: each wall-clock time once, across both DST changes", () => {
    const daily = ruleOf({ cron: "30 2 * * *", timezone: "Europe/Berlin" })
    // Spring forward (29 March 2026): 02:30 does not exist that day; it runs at 03:30 CEST, once.
    expect(occurrences(daily, at("2026-03-27T12:00:00Z"), at("2026-03-31T12:00:00Z"))).toStrictEqual([
      "2026-03-28T01:30:00.000Z", "2026-03-29T01:30:00.000Z", "2026-03-30T00:30:00.000Z", "2026-03-31T00:30:00.000Z"
    ])
    // Fall back (25 October): 02:30 happens twice; it runs at the first, once.
    expect(occurrences(daily, at("2026-10-23T12:00:00Z"), at("2026-10-27T12:00:00Z"))).toStrictEqual([
      "2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z", "2026-10-27T01:30:00.000Z"
    ])
    // Asked from inside the repeated hour (02:15 the second time): the next is after it, not before.
    expect(iso(TaskSchedule.nextAfter(daily, at("2026-10-25T01:15:00Z")))).toBe("2026-10-26T01:30:00.000Z")
    const quarterly = ruleOf({ cron: "*/15 * * * *", timezone: "Europe/Berlin" })
    expect(TaskSchedule.nextAfter(quarterly, at("2026-10-25T01:20:00Z"))).toBeGreaterThan(at("2026-10-25T01:20:00Z"))
    // Hourly over the day of 25 October in Berlin: 24 wall-clock hours, 25 real ones; one run each.
    const hourly = ruleOf({ cron: "0 * * * *", timezone: "Europe/Berlin" })
    expect(occurrences(hourly, at("2026-10-24T21:59:59Z"), at("2026-10-25T22:59:59Z"))).toHaveLength(24)
  })

  it("every: counted from the anchor, whatever the instant asked about", () => {
    const every = ruleOf({ every: "15 minutes" }, at("2026-01-01T10:07:00Z"))
    expect(iso(TaskSchedule.nextAfter(every, at("2026-01-01T10:07:00Z")))).toBe("2026-01-01T10:22:00.000Z")
    expect(iso(TaskSchedule.nextAfter(every, at("2026-01-01T11:00:00Z")))).toBe("2026-01-01T11:07:00.000Z")
  })

  it("due: on time fires the occurrence; missed ones fire once (the latest) or are skipped; never more than one", () => {
    const hourly = ruleOf({ cron: "0 * * * *" })
    const nine = at("2026-01-01T09:00:00Z")
    // Not yet due.
    expect(TaskSchedule.due(hourly, nine, nine - 1, "once")).toStrictEqual({ fire: [], next: nine })
    // On time (a few seconds late counts): fires with either policy.
    for (const misfire of ["once", "skip"] as const) {
      expect(TaskSchedule.due(hourly, nine, nine + 5000, misfire)).toStrictEqual({ fire: [nine], next: at("2026-01-01T10:00:00Z") })
    }
    // Down from 08:30 to 12:20: 09, 10, 11 and 12 o'clock missed.
    const back = at("2026-01-01T12:20:00Z")
    expect(TaskSchedule.due(hourly, nine, back, "once")).toStrictEqual({ fire: [at("2026-01-01T12:00:00Z")], next: at("2026-01-01T13:00:00Z") })
    expect(TaskSchedule.due(hourly, nine, back, "skip")).toStrictEqual({ fire: [], next: at("2026-01-01T13:00:00Z") })
    // A long outage under a frequent cron finds the latest without stepping through all of it.
    const everySecond = ruleOf({ cron: "* * * * * *" })
    expect(TaskSchedule.due(everySecond, nine, nine + 40 * 86_400_000 + 1500, "once").fire).toStrictEqual([nine + 40 * 86_400_000 + 1000])
  })

  it("bad schedules are refused with a message a person can act on", () => {
    const message = (options: Parameters<typeof TaskSchedule.rule>[0]) => Either.getLeft(TaskSchedule.rule(options, 0)).pipe((o) => (o._tag === "Some" ? o.value : ""))
    expect(message({})).toBe("give exactly one of cron (an expression) or every (an interval)")
    expect(message({ cron: "0 * * * *", every: "1 hour" })).toBe("give exactly one of cron (an expression) or every (an interval)")
    expect(message({ cron: "0 * * *" })).toBe(`cron "0 * * *": Invalid number of segments in cron expression`)
    expect(message({ cron: "0 * * * *", timezone: "Mars/Olympus" })).toBe(`cron "0 * * * *" in Mars/Olympus: Invalid time zone in cron expression`)
    expect(message({ cron: "0 0 30 2 *" })).toBe(`cron "0 0 30 2 *" never matches a date`)
    expect(message({ every: "10 millis" })).toBe("every must be at least 1 second (got 10 ms)")
    expect(message({ every: "1 hour", timezone: "UTC" })).toBe("timezone applies to cron expressions only, not to every")
  })
})
