import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * A duration in any of Effect's forms (milliseconds, text such as "30 seconds", a Duration),
 * not negative. On the wire (JSON) it is milliseconds or text; either is taken as it is.
 */
// Effect reads a negative or NaN amount as zero: refused here instead, so a mistake is not a "now".
const negative = (u: unknown): boolean =>
  (typeof u === "number" && !(u >= 0)) ||
  (typeof u === "bigint" && u < 0n) ||
  (typeof u === "string" && u.trim().startsWith("-")) ||
  (Array.isArray(u) && u.some((part) => negative(part)))

export const DurationInput = Schema.declare(
  (u: unknown): u is Duration.DurationInput => !negative(u) && Option.isSome(Duration.decodeUnknown(u)),
  {
    identifier: "DurationInput",
    description: `a duration: milliseconds, or text such as "30 seconds"`,
    jsonSchema: { anyOf: [{ type: "number", minimum: 0 }, { type: "string", description: `e.g. "30 seconds", "5 minutes"` }] }
  }
)
export type DurationInput = typeof DurationInput.Type
