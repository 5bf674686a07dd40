import * as Cron from "effect/Cron"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { DurationInput } from "./DurationInput.js"
import { PriorityInput } from "./Priority.js"
import { Requirements } from "./Resources.js"
import { RetryPolicyInput } from "./RetryPolicy.js"

// Schedules: a task submitted again and again, by a cron expression (in a time zone) or every
// so often. Each occurrence is a task whose idempotency key names the schedule and the
// occurrence's instant, so it is stored once however many processes fire it, and after a
// restart. What a schedule stores, and the arithmetic of its occurrences (pure: no clock).

const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

/**
 * What happens to occurrences missed while nothing fired them (every process down, or the
 * type's handlers nowhere running): `once` submits one task for the latest of them; `skip`
 * submits none (the next occurrence on time runs). Occurrences never pile up either way.
 */
export const Misfire = Schema.Literal("once", "skip")
export type Misfire = typeof Misfire.Type

/** How late an occurrence may be fired and still count as on time (not missed). */
export const onTimeMs = 60_000

/** The shortest `every`: a schedule is not a busy loop. */
export const minEveryMs = 1000

/** A name: letters, digits, _ . : - (as task ids), 1 to 128 characters. */
export const ScheduleName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_.:-]{1,128}$/),
  Schema.annotations({ identifier: "ScheduleName", description: "a schedule name: 1 to 128 letters, digits, or _ . : -" })
)

/** When it recurs and how each occurrence is submitted. */
export const ScheduleOptions = Schema.Struct({
  /** A cron expression: 5 fields (minute first), or 6 with seconds first. */
  cron: optional(Schema.String),
  /** Or a fixed interval (at least 1 second), counted from when the schedule was made. */
  every: optional(DurationInput),
  /** The IANA time zone a cron expression is read in (UTC by default), e.g. "Europe/Berlin". */
  timezone: optional(Schema.String),
  misfire: optional(Misfire),
  // Each occurrence's submit options (the definition's defaults otherwise).
  priority: optional(PriorityInput),
  retry: optional(RetryPolicyInput),
  timeout: optional(DurationInput),
  key: optional(Schema.String),
  resources: optional(Requirements)
})
export type ScheduleOptions = typeof ScheduleOptions.Type

/** A stored schedule, as `schedules` lists it. */
export const TaskSchedule = Schema.Struct({
  name: Schema.String,
  type: Schema.String,
  /** The payload as stored (encoded by the type's Schema). */
  payload: Schema.Unknown,
  cron: Schema.NullOr(Schema.String),
  everyMs: Schema.NullOr(Schema.Number),
  timezone: Schema.NullOr(Schema.String),
  misfire: Misfire,
  /** The submit options of each occurrence (encoded). */
  options: Schema.Unknown,
  /** The next occurrence, epoch ms. */
  nextAt: Schema.Number,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})
export type TaskSchedule = typeof TaskSchedule.Type

/** How a schedule recurs, checked. */
export type Rule =
  | { readonly _tag: "Cron"; readonly cron: Cron.Cron }
  | { readonly _tag: "Every"; readonly ms: number; readonly anchor: number }

/**
 * The rule of these options, or why there is none (a message a person can act on). `anchor`:
 * where an `every` counts from.
 */
export const rule = (options: Pick<ScheduleOptions, "cron" | "every" | "timezone">, anchor: number): Either.Either<Rule, string> => {
  if ((options.cron === undefined) === (options.every === undefined)) {
    return Either.left("give exactly one of cron (an expression) or every (an interval)")
  }
  if (options.cron !== undefined) {
    const what = `cron ${JSON.stringify(options.cron)}${options.timezone === undefined ? "" : ` in ${options.timezone}`}`
    return Either.flatMap(
      Either.mapBoth(Cron.parse(options.cron, options.timezone ?? "UTC"), {
        onLeft: (e) => `${what}: ${e.message}`,
        onRight: (cron) => ({ _tag: "Cron" as const, cron })
      }),
      // A date that never comes (30 February): Effect's Cron gives up searching with a throw.
      (r) => Either.try({ try: () => (nextAfter(r, anchor), r), catch: () => `${what} never matches a date` })
    )
  }
  if (options.timezone !== undefined) return Either.left("timezone applies to cron expressions only, not to every")
  const ms = Duration.toMillis(Duration.decode(options.every!))
  if (!(ms >= minEveryMs) || !Number.isFinite(ms)) return Either.left(`every must be at least ${minEveryMs / 1000} second (got ${ms} ms)`)
  return Either.right({ _tag: "Every", ms, anchor })
}

/**
 * The first occurrence strictly after `t`. Inside the hour a time zone repeats when its clocks
 * go back, Effect's `Cron.next` maps wall-clock times to their first instance, which can be
 * before `t`: those were run at their first instance, so the search moves on past them.
 */
export const nextAfter = (r: Rule, t: number): number => {
  if (r._tag === "Every") return r.anchor + (Math.floor((t - r.anchor) / r.ms) + 1) * r.ms
  for (let from = t; ; from += 15 * 60_000) {
    const next = Cron.next(r.cron, new Date(from)).getTime()
    if (next > t) return next
  }
}

/** Windows searched back from `t` for a cron's latest occurrence, smallest first. */
const windows = [60_000, 3_600_000, 86_400_000, 32 * 86_400_000, 367 * 86_400_000, Number.POSITIVE_INFINITY]

/**
 * The last occurrence at or before `t` that is not before `from` (none: undefined). A cron is
 * stepped forward (Effect's `Cron.prev` is off by one below a minute and throws across a DST
 * change) from the first occurrence in the smallest window back from `t` that has one, so a
 * long outage under a frequent cron does not step through every occurrence missed.
 */
const latestUpTo = (r: Rule, from: number, t: number): number | undefined => {
  if (from > t) return undefined
  if (r._tag === "Every") {
    const latest = r.anchor + Math.floor((t - r.anchor) / r.ms) * r.ms
    return latest >= from ? latest : undefined
  }
  for (const w of windows) {
    let at = nextAfter(r, Math.max(from, t - w) - 1)
    if (at > t) continue
    for (let next = nextAfter(r, at); next <= t; next = nextAfter(r, at)) at = next
    return at
  }
  return undefined
}

/**
 * What to fire at `now` for a schedule whose next occurrence is `nextAt`: the occurrences to
 * submit (at most one: the latest due, if the misfire policy takes it) and the next occurrence
 * after `now`. Not due yet: nothing, and `nextAt` as it is.
 */
export const due = (r: Rule, nextAt: number, now: number, misfire: Misfire): { readonly fire: ReadonlyArray<number>; readonly next: number } => {
  const latest = latestUpTo(r, nextAt, now)
  if (latest === undefined) return { fire: [], next: nextAt }
  const onTime = now - latest <= onTimeMs
  return { fire: onTime || misfire === "once" ? [latest] : [], next: nextAfter(r, now) }
}

/** The idempotency key of one occurrence: the same for every process that fires it. */
export const occurrenceKey = (name: string, at: number) => `troupe:schedule:${name}:${at}`
