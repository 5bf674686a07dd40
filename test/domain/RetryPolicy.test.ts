import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as RetryPolicy from "../../src/domain/RetryPolicy.js"

const delays = (policy: RetryPolicy.RetryPolicy, attempts: number) =>
  Effect.forEach(Array.from({ length: attempts }, (_, i) => i + 1), (attempt) =>
    Effect.map(RetryPolicy.nextDelay(policy, attempt), Option.map(Duration.toMillis)))

describe("RetryPolicy", () => {
  it.effect("exponential 1 s × 2 gives 1 s, 2 s, 4 s, then stops at max attempts", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ maxAttempts: 4, backoff: "exponential", initialDelay: "1 second", factor: 2, jitter: false })
      expect(yield* delays(policy, 4)).toStrictEqual([Option.some(1000), Option.some(2000), Option.some(4000), Option.none()])
    }))

  it.effect("delays are capped at maxDelay", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ maxAttempts: 10, initialDelay: "1 second", factor: 3, maxDelay: "5 seconds", jitter: false })
      expect((yield* delays(policy, 4)).map(Option.getOrThrow)).toStrictEqual([1000, 3000, 5000, 5000])
    }))

  it.effect("fixed backoff repeats the initial delay", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ maxAttempts: 3, backoff: "fixed", initialDelay: "250 millis", jitter: false })
      expect(yield* delays(policy, 3)).toStrictEqual([Option.some(250), Option.some(250), Option.none()])
    }))

  it.effect("jitter stays within ±20% and is reproducible with a seeded Random", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ maxAttempts: 6, initialDelay: "1 second", factor: 2, jitter: true })
      const a = yield* delays(policy, 5).pipe(Effect.withRandom(Random.make("seed")))
      const b = yield* delays(policy, 5).pipe(Effect.withRandom(Random.make("seed")))
      expect(a).toStrictEqual(b)
      a.forEach((d, i) => {
        const base = 1000 * 2 ** i
        const ms = Option.getOrThrow(d)
        expect(ms).toBeGreaterThanOrEqual(base * 0.8)
        expect(ms).toBeLessThanOrEqual(base * 1.2)
      })
    }))

  it.effect("out-of-range fields are rejected with a readable message", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RetryPolicy.make({ maxAttempts: 0 }))
      expect(error.message).toContain("maxAttempts")
    }))
})
