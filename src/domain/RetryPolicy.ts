import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Schema from "effect/Schema"
import { DurationInput } from "./DurationInput.js"

/**
 * A retry policy as plain data, stored with a task so a pending retry survives a restart.
 * Durations are milliseconds. `toSchedule` turns it into an Effect Schedule.
 */
export class RetryPolicy extends Schema.Class<RetryPolicy>("RetryPolicy")({
  /** Attempts in total, the first included (1 = never retry). */
  maxAttempts: Schema.Int.pipe(Schema.between(1, 1000)),
  backoff: Schema.Literal("fixed", "exponential"),
  initialDelayMs: Schema.NonNegative,
  factor: Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)),
  maxDelayMs: Schema.NonNegative,
  /** Spread each delay randomly by ±20% (Schedule.jittered); uses the Random service. */
  jitter: Schema.Boolean,
  /** Lower the task's priority by this much on each retry. */
  priorityDecrease: Schema.Int.pipe(Schema.nonNegative())
}) {}

const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** What a definition or a submit may write: any field, durations in any Duration form. */
export const RetryPolicyInput = Schema.Struct({
  maxAttempts: optional(Schema.Number),
  backoff: optional(Schema.Literal("fixed", "exponential")),
  initialDelay: optional(DurationInput),
  factor: optional(Schema.Number),
  maxDelay: optional(DurationInput),
  jitter: optional(Schema.Boolean),
  priorityDecrease: optional(Schema.Number)
})
export type RetryPolicyInput = typeof RetryPolicyInput.Type

/** The default: 3 attempts, exponential from 1 s × 2 up to 5 min, jittered. */
export const defaults = new RetryPolicy({
  maxAttempts: 3,
  backoff: "exponential",
  initialDelayMs: 1000,
  factor: 2,
  maxDelayMs: 5 * 60_000,
  jitter: true,
  priorityDecrease: 0
})

/** Never retry. */
export const none = new RetryPolicy({ ...defaults, maxAttempts: 1 })

/** `input` filled over `base`, durations in milliseconds, not yet validated. */
const fields = (input: RetryPolicyInput, base: RetryPolicy) => ({
  maxAttempts: input.maxAttempts ?? base.maxAttempts,
  backoff: input.backoff ?? base.backoff,
  initialDelayMs: input.initialDelay === undefined ? base.initialDelayMs : Duration.toMillis(input.initialDelay),
  factor: input.factor ?? base.factor,
  maxDelayMs: input.maxDelay === undefined ? base.maxDelayMs : Duration.toMillis(input.maxDelay),
  jitter: input.jitter ?? base.jitter,
  priorityDecrease: input.priorityDecrease ?? base.priorityDecrease
})

const decodeEither = Schema.decodeUnknownEither(RetryPolicy)

/** Fills `input` over `base`; a field out of range is a ParseError with a readable message. */
export const makeEither = (input: RetryPolicyInput, base: RetryPolicy = defaults): Either.Either<RetryPolicy, ParseResult.ParseError> =>
  decodeEither(fields(input, base))

/** The same as an Effect. */
export const make = (input: RetryPolicyInput, base: RetryPolicy = defaults): Effect.Effect<RetryPolicy, ParseResult.ParseError> =>
  makeEither(input, base)

/** The policy as a Schedule: one recurrence per retry, delays capped at maxDelay. */
export const toSchedule = (policy: RetryPolicy): Schedule.Schedule<unknown> => {
  const base: Schedule.Schedule<unknown> = policy.backoff === "exponential"
    ? Schedule.exponential(Duration.millis(policy.initialDelayMs), policy.factor)
    : Schedule.spaced(Duration.millis(policy.initialDelayMs))
  const capped = Schedule.modifyDelay(base, (_, delay) => Duration.min(delay, Duration.millis(policy.maxDelayMs)))
  const jittered = policy.jitter ? Schedule.jittered(capped) : capped
  return Schedule.intersect(jittered, Schedule.recurs(policy.maxAttempts - 1))
}

/**
 * The delay before the next attempt after `attempt` attempts have failed, or None when the
 * policy is exhausted. The Schedule is stepped `attempt` times from a zero clock, so the result
 * depends only on the policy and the attempt number (and Random, when jittered).
 */
export const nextDelay = (policy: RetryPolicy, attempt: number): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.gen(function*() {
    const schedule = toSchedule(policy)
    let state: unknown = schedule.initial
    let now = 0
    let delay = Option.none<Duration.Duration>()
    for (let i = 0; i < attempt; i++) {
      const [next, , decision] = yield* schedule.step(now, undefined, state)
      if (decision._tag === "Done") return Option.none()
      const start = ScheduleIntervals.start(decision.intervals)
      delay = Option.some(Duration.millis(Math.max(0, start - now)))
      now = Math.max(now, start)
      state = next
    }
    return delay
  })
