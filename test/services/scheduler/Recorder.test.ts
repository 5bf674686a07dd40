import { describe, expect, it } from "@effect/vitest"
import { historyMinutes, Recorder } from "../../../src/services/scheduler/Recorder.js"

// The recorder behind stats: a sliding window, and ends per minute over the last hour (the
// dashboard's chart). Times are given, not read: no clock involved.

const MINUTE = 60_000
const at = (minute: number, second = 0) => minute * MINUTE + second * 1000
const ended = (t: number, ok = true) => ({ at: t, runMs: 1, waitMs: 1, ok })

describe("Recorder", () => {
  it("counts ends per minute over the last hour, oldest first, empty minutes as 0", () => {
    const r = new Recorder(60_000)
    r.record(ended(at(100, 5)))
    r.record(ended(at(100, 59)))
    r.record(ended(at(100, 30), false))
    r.record(ended(at(130, 1)))
    const history = r.history(at(130, 40))
    expect(history.length).toBe(historyMinutes)
    expect(history.at(-1)).toStrictEqual({ at: at(130), completed: 1, failed: 0 })
    expect(history.find((m) => m.at === at(100))).toStrictEqual({ at: at(100), completed: 2, failed: 1 })
    expect(history.filter((m) => m.completed + m.failed > 0).length).toBe(2)
    // What a heartbeat carries: the minutes with ends only.
    expect(r.recent(at(130, 40))).toStrictEqual([[at(100), 2, 1], [at(130), 1, 0]])
  })

  it("drops minutes past the hour as new ones come", () => {
    const r = new Recorder(60_000)
    r.record(ended(at(10)))
    r.record(ended(at(80)))
    const history = r.history(at(80))
    expect(history[0]!.at).toBe(at(80 - historyMinutes + 1))
    expect(history.reduce((n, m) => n + m.completed, 0)).toBe(1)
  })
})
