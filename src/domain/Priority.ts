import * as Schema from "effect/Schema"

/**
 * Named priority levels. They are spaced so integers can sit between them; higher runs first.
 */
export const levels = { low: 0, normal: 10, high: 20, critical: 30 } as const
export type Level = keyof typeof levels

export const MIN = -1000
export const MAX = 1000

/** The integer priority stored with a task. */
export const Priority = Schema.Int.pipe(Schema.between(MIN, MAX)).annotations({
  identifier: "Priority",
  description: `an integer between ${MIN} and ${MAX}; higher runs first`
})
export type Priority = typeof Priority.Type

/** What callers may write: a named level or an integer. */
export const PriorityInput = Schema.Union(Schema.Literal("low", "normal", "high", "critical"), Priority)
export type PriorityInput = typeof PriorityInput.Type

/** Resolves a named level or an integer to the stored integer. */
export const resolve = (input: PriorityInput): Priority => (typeof input === "number" ? input : levels[input])

/** The default priority of a task whose definition and submit name none. */
export const defaultPriority: Priority = levels.normal

/** Clamps an integer into the legal range (used when retries lower a priority). */
export const clamp = (n: number): Priority => Math.max(MIN, Math.min(MAX, Math.trunc(n)))
