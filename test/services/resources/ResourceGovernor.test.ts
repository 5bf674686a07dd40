import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Resources from "../../../src/domain/Resources.js"
import { ResourceGovernor } from "../../../src/services/resources/ResourceGovernor.js"
import * as Governor from "../../../src/services/resources/ResourceGovernor.js"

const capacity: Resources.Amounts = { cpu: 4, memoryMb: 1000, gpu: 1 }
const need = (cpu: number, memoryMb = 0, gpu = 0): Resources.Amounts => ({ cpu, memoryMb, gpu })

describe("ResourceGovernor", () => {
  it.effect("a permit takes every dimension at once and gives it back once", () =>
    Effect.gen(function*() {
      const governor = yield* ResourceGovernor
      const a = yield* governor.tryAcquire(need(2.5, 600, 1))
      expect(Option.isSome(a)).toBe(true)
      expect(yield* governor.available).toStrictEqual({ cpu: 1.5, memoryMb: 400, gpu: 0 })
      // Fits in cpu and memory but not gpu: nothing is taken.
      expect(Option.isNone(yield* governor.tryAcquire(need(1, 100, 1)))).toBe(true)
      expect(yield* governor.available).toStrictEqual({ cpu: 1.5, memoryMb: 400, gpu: 0 })
      const permit = Option.getOrThrow(a)
      yield* permit.release
      yield* permit.release
      expect(yield* governor.available).toStrictEqual(capacity)
    }).pipe(Effect.provide(Governor.layer(capacity))))

  it.effect("a requirement larger than the capacity is rejected up front", () =>
    Effect.gen(function*() {
      const governor = yield* ResourceGovernor
      const result = governor.check("render", need(8))
      expect(Either.isLeft(result) && result.left.message).toContain("could never start")
      expect(Either.isRight(governor.check("render", need(4, 1000, 1)))).toBe(true)
    }).pipe(Effect.provide(Governor.layer(capacity))))

  it.effect("reservation: while a large task waits, smaller ones cannot take what it needs; others still run", () =>
    Effect.gen(function*() {
      const governor = yield* ResourceGovernor
      const running = Option.getOrThrow(yield* governor.tryAcquire(need(3, 200)))
      const big = need(4, 500)
      expect(Option.isNone(yield* governor.tryAcquire(big))).toBe(true)
      // Reserved for the big one: a small cpu task would delay it, so it waits.
      expect(Option.isNone(yield* governor.tryAcquire(need(1), big))).toBe(true)
      // A task that needs only memory the big one leaves free backfills.
      const memoryOnly = yield* governor.tryAcquire(need(0, 300), big)
      expect(Option.isSome(memoryOnly)).toBe(true)
      yield* running.release
      expect(Option.isSome(yield* governor.tryAcquire(big))).toBe(true)
    }).pipe(Effect.provide(Governor.layer(capacity))))

  it.scoped("acquire waits until the need fits and admission is open", () =>
    Effect.gen(function*() {
      const governor = yield* ResourceGovernor
      yield* governor.setAdmitting(false)
      const waiting = yield* Effect.fork(Effect.scoped(Effect.as(governor.acquire(need(1)), "admitted")))
      yield* Effect.yieldNow()
      expect(waiting.unsafePoll()).toBeNull()
      yield* governor.setAdmitting(true)
      expect(yield* Fiber.join(waiting)).toBe("admitted")
      expect(yield* governor.available).toStrictEqual(capacity)
    }).pipe(Effect.provide(Governor.layer(capacity))))
})
