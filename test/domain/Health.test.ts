import { describe, expect, it } from "@effect/vitest"
import * as Health from "../../src/domain/Health.js"
import * as Stats from "../../src/domain/Stats.js"

const thresholds: Health.Thresholds = {
  failureRateWarning: 0.1,
  failureRateCritical: 0.5,
  minAttempts: 10,
  oldestReadyWarningMs: 60_000,
  oldestReadyCriticalMs: 300_000
}
const calm: Health.Inputs = {
  attempts: 100,
  failures: 0,
  oldestReadyAgeMs: null,
  liveWorkers: 2,
  storeErrors: 0,
  storeReachable: true,
  queuePaused: false,
  pausedTypes: []
}
const level = (patch: Partial<Health.Inputs>) => Health.assess({ ...calm, ...patch }, thresholds).level

describe("Health.assess", () => {
  it("takes the worst level any input reaches, with a reason for each", () => {
    expect(Health.assess(calm, thresholds)).toStrictEqual({ level: "healthy", reasons: [] })
    expect(level({ failures: 9 })).toBe("healthy")
    expect(level({ failures: 10 })).toBe("warning")
    expect(level({ failures: 50 })).toBe("critical")
    expect(level({ attempts: 5, failures: 5 })).toBe("healthy") // too few attempts to judge
    expect(level({ oldestReadyAgeMs: 59_999 })).toBe("healthy")
    expect(level({ oldestReadyAgeMs: 60_000 })).toBe("warning")
    expect(level({ oldestReadyAgeMs: 300_000 })).toBe("critical")
    expect(level({ storeErrors: 1 })).toBe("critical")
    expect(level({ queuePaused: true })).toBe("warning")
    expect(level({ liveWorkers: 0 })).toBe("offline")
    expect(level({ liveWorkers: null })).toBe("healthy")
    expect(level({ storeReachable: false, failures: 60 })).toBe("offline")
    const both = Health.assess({ ...calm, failures: 20, oldestReadyAgeMs: 400_000 }, thresholds)
    expect(both.level).toBe("critical")
    expect(both.reasons.length).toBe(2)
    expect(Health.assess({ ...calm, pausedTypes: ["a"] }, thresholds)).toStrictEqual({ level: "healthy", reasons: ["paused task types: a"] })
  })
})

describe("Stats.summarize", () => {
  it("gives the mean and the nearest-rank 50th, 95th and 99th percentiles", () => {
    expect(Stats.summarize([])).toStrictEqual({ mean: null, p50: null, p95: null, p99: null })
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(Stats.summarize(values)).toStrictEqual({ mean: 50.5, p50: 50, p95: 95, p99: 99 })
    expect(Stats.summarize([7])).toStrictEqual({ mean: 7, p50: 7, p95: 7, p99: 7 })
  })
})
