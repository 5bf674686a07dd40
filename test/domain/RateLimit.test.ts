import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as RateLimit from "../../src/domain/RateLimit.js"

// The arithmetic of rate limits: at most `limit` starts in any interval of `per`.

const tenPerSecond = Either.getOrThrow(RateLimit.make({ limit: 10, per: "1 second" }))

describe("RateLimit", () => {
  it("a quiet bucket has its whole allowance; starts count for one interval, then stop counting", () => {
    expect(RateLimit.allowance(tenPerSecond, [], 5000)).toBe(10)
    const starts = RateLimit.after(tenPerSecond, [], 5000, 7)
    expect(starts).toStrictEqual([[5000, 7]])
    expect(RateLimit.allowance(tenPerSecond, starts, 5999)).toBe(3)
    expect(RateLimit.allowance(tenPerSecond, starts, 6000)).toBe(10)
  })

  it("starts at one instant add up; those older than an interval are dropped as new ones come", () => {
    let starts = RateLimit.after(tenPerSecond, [], 0, 4)
    starts = RateLimit.after(tenPerSecond, starts, 0, 2)
    starts = RateLimit.after(tenPerSecond, starts, 400, 3)
    expect(starts).toStrictEqual([[0, 6], [400, 3]])
    expect(RateLimit.after(tenPerSecond, starts, 1000, 1)).toStrictEqual([[400, 3], [1000, 1]])
    expect(RateLimit.after(tenPerSecond, starts, 1000, 0)).toStrictEqual([[400, 3]])
  })

  it("a spent bucket opens when enough of its oldest starts stop counting", () => {
    const starts: RateLimit.Starts = [[0, 6], [400, 4]]
    expect(RateLimit.allowance(tenPerSecond, starts, 300)).toBe(0)
    expect(RateLimit.opensAt(tenPerSecond, starts, 300)).toBe(1000)
    // Not spent: now.
    expect(RateLimit.opensAt(tenPerSecond, [[0, 9]], 300)).toBe(300)
    // Over the limit (the limit was lowered since): opens when enough have stopped counting.
    const lowered = Either.getOrThrow(RateLimit.make({ limit: 5, per: "1 second" }))
    expect(RateLimit.opensAt(lowered, starts, 300)).toBe(1000)
    const lowest = Either.getOrThrow(RateLimit.make({ limit: 3, per: "1 second" }))
    expect(RateLimit.opensAt(lowest, starts, 300)).toBe(1400)
    expect(RateLimit.idleAt(tenPerSecond, starts)).toBe(1400)
  })

  it("never more than the limit in any interval, whatever the claims asked (a simulated minute)", () => {
    let starts: RateLimit.Starts = []
    const log: Array<number> = []
    for (let now = 0; now < 60_000; now += 7) {
      const take = Math.min(RateLimit.allowance(tenPerSecond, starts, now), (now * 13) % 5)
      for (let i = 0; i < take; i++) log.push(now)
      starts = RateLimit.after(tenPerSecond, starts, now, take)
    }
    const most = Math.max(...log.map((t) => log.filter((u) => u >= t && u < t + 1000).length))
    expect(most).toBe(10)
    expect(log.length).toBeGreaterThan(550)
  })

  it("buckets: the type, or the type and its rate key", () => {
    const perKey = Either.getOrThrow(RateLimit.make({ limit: 2, per: "1 minute", byKey: true }))
    expect(RateLimit.bucketOf("api", "acct-1", tenPerSecond)).toBe("api")
    expect(RateLimit.bucketOf("api", "acct-1", perKey)).toBe("api/acct-1")
    expect(RateLimit.bucketOf("api", undefined, perKey)).toBe("api/")
    expect(RateLimit.partsOf("api/acct/1")).toStrictEqual({ type: "api", rateKey: "acct/1" })
    expect(RateLimit.partsOf("api")).toStrictEqual({ type: "api", rateKey: undefined })
    expect(RateLimit.describe(perKey)).toBe("2 per 1m per key")
  })

  it("a limit that cannot hold is refused with what to change", () => {
    expect(RateLimit.make({ limit: 2.5, per: "1 second" })).toStrictEqual(
      Either.left("limit must be a whole number of starts from 1 to 1000000 (got 2.5)")
    )
    expect(Either.isLeft(RateLimit.make({ limit: 1, per: "0 millis" }))).toBe(true)
    expect(Either.isLeft(RateLimit.make({ limit: 1, per: Number.POSITIVE_INFINITY }))).toBe(true)
  })
})
