import * as Schema from "effect/Schema"

/** A task's identity: an opaque, URL-safe string chosen by the submitting side. */
export const TaskId = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(128),
  Schema.pattern(/^[A-Za-z0-9_.:-]+$/),
  Schema.brand("TaskId")
)
export type TaskId = typeof TaskId.Type

/** Builds a TaskId without validation (ids minted by troupe itself). */
export const unsafeMake = (id: string): TaskId => id as TaskId
