import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as TaskDefinition from "./TaskDefinition.js"

/**
 * A task type as clients see it: what it is called, where it runs, its defaults, and the JSON
 * Schema of its payload as JSON takes it (the dashboard builds its submit form from it).
 */
export const TaskType = Schema.Struct({
  name: Schema.String,
  execution: Schema.Literal("thread", "fiber"),
  priority: Schema.Number,
  /** Most attempts running at once, across the cluster; null: no limit. */
  concurrency: Schema.NullOr(Schema.Number),
  /** Starts allowed per interval (per rate key when `byKey`), across the cluster; null: no limit. */
  rateLimit: Schema.NullOr(Schema.Struct({ limit: Schema.Number, perMs: Schema.Number, byKey: Schema.Boolean })),
  /** JSON Schema (draft 7) of the payload; null when its Schema has no JSON Schema form. */
  payload: Schema.NullOr(Schema.Unknown)
})
export type TaskType = typeof TaskType.Type

export const of = (definition: TaskDefinition.Any): TaskType => ({
  name: definition.name,
  execution: definition.execution,
  priority: definition.priority,
  concurrency: Option.getOrNull(definition.concurrency),
  rateLimit: Option.getOrNull(definition.rateLimit),
  payload: Option.getOrNull(definition.payloadJsonSchema())
})
