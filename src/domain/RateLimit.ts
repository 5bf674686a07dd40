import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

// Rate limits: at most `limit` starts in any interval of `per`, for a task type as a whole or
// for each rate key of it. The store keeps, per bucket, the starts of the last interval as
// (instant, count) pairs — one pair per claim, so a handful — and a claim takes at most what
// they leave, in its transaction: exact over every window (a window holding more than `limit`
// would contain its last claim's whole look-back), with bursts allowed (the whole allowance at
// once after a quiet interval), the way BullMQ's and Celery's users count. A token bucket
// (GCRA) would keep one number but let up to 2 × limit − 1 start within one interval (the burst,
// then the steady rate): measured in the first version of this, and not what "10 per second"
// says. Pure arithmetic here; the store applies it.

/** A rate limit as a definition declares it. */
export interface RateLimitInput {
  /** Starts allowed per interval (a positive integer). */
  readonly limit: number
  /** The interval, e.g. "1 second", "1 minute" (at least 1 ms). */
  readonly per: Duration.DurationInput
  /**
   * Each rate key (the submit option `rateKey`) has its own allowance: an API quota per account.
   * Tasks submitted without one share one allowance. Default: one allowance for the whole type.
   */
  readonly byKey?: boolean
}

/** A rate limit, checked. */
export interface RateLimit {
  readonly limit: number
  readonly perMs: number
  readonly byKey: boolean
}

/** Checks a declared limit; the message says what to change. */
export const make = (input: RateLimitInput): Either.Either<RateLimit, string> => {
  const { limit } = input
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
    return Either.left(`limit must be a whole number of starts from 1 to 1000000 (got ${String(limit)})`)
  }
  const per = Duration.decodeUnknown(input.per)
  const perMs = per._tag === "Some" ? Duration.toMillis(per.value) : Number.NaN
  if (!Number.isFinite(perMs) || perMs < 1) {
    return Either.left(`per must be a finite duration of at least 1 millisecond, e.g. "1 second" (got ${String(input.per)})`)
  }
  return Either.right({ limit, perMs, byKey: input.byKey === true })
}

/**
 * The bucket a task's starts count in: its type, or with `byKey` the type and its rate key
 * (`type/key`; `type/` for tasks with none). Type names cannot contain "/".
 */
export const bucketOf = (type: string, rateKey: string | null | undefined, limit: RateLimit): string =>
  limit.byKey ? `${type}/${rateKey ?? ""}` : type

/** A bucket's parts: its type, and its rate key when the bucket is per key ("" for tasks with none). */
export const partsOf = (bucket: string): { readonly type: string; readonly rateKey: string | undefined } => {
  const slash = bucket.indexOf("/")
  return slash < 0 ? { type: bucket, rateKey: undefined } : { type: bucket.slice(0, slash), rateKey: bucket.slice(slash + 1) }
}

/** A bucket's recent starts: (instant, how many) pairs, oldest first. */
export type Starts = ReadonlyArray<readonly [at: number, count: number]>

/** The starts still counting at `now` (those less than one interval ago). */
export const live = (limit: RateLimit, starts: Starts, now: number): Starts => starts.filter(([at]) => at > now - limit.perMs)

const used = (starts: Starts) => starts.reduce((n, [, count]) => n + count, 0)

/** How many may start at `now`. */
export const allowance = (limit: RateLimit, starts: Starts, now: number): number =>
  Math.max(0, limit.limit - used(live(limit, starts, now)))

/**
 * Starts are recorded in slots of a 500th of the interval (1 ms at least), the instant rounded
 * up: a start counts for at most that much longer than its interval — never less — and a
 * bucket's row holds at most ~500 pairs however long its interval and however many claims.
 */
const slotOf = (limit: RateLimit, now: number) => {
  const width = Math.max(1, limit.perMs / 500)
  return Math.ceil(now / width) * width
}

/**
 * The bucket's starts after `count` more started at `now` (those no longer counting dropped).
 * Kept in instant order even when a claim taken at an earlier instant commits after a later one.
 */
export const after = (limit: RateLimit, starts: Starts, now: number, count: number): Starts => {
  const kept = live(limit, starts, now)
  if (count === 0) return kept
  const at = slotOf(limit, now)
  const i = kept.findIndex(([t]) => t >= at)
  if (i < 0) return [...kept, [at, count]]
  const found = kept[i]!
  return found[0] === at
    ? [...kept.slice(0, i), [at, found[1] + count], ...kept.slice(i + 1)]
    : [...kept.slice(0, i), [at, count], ...kept.slice(i)]
}

/** When the next start is allowed: `now` if one is allowed already (as the oldest starts stop counting). */
export const opensAt = (limit: RateLimit, starts: Starts, now: number): number => {
  const counting = live(limit, starts, now)
  let over = used(counting) - limit.limit + 1
  if (over <= 0) return now
  for (const [at, count] of counting) {
    over -= count
    if (over <= 0) return at + limit.perMs
  }
  return now
}

/** When a bucket with these starts has its whole allowance again (its newest start stops counting). */
export const idleAt = (limit: RateLimit, starts: Starts): number => Math.max(0, ...starts.map(([at]) => at)) + limit.perMs

/** "10 per 1s", "3 per 1m per key": for listings. */
export const describe = (limit: RateLimit): string =>
  `${limit.limit} per ${Duration.format(Duration.millis(limit.perMs))}${limit.byKey ? " per key" : ""}`
