import * as Schema from "effect/Schema"
import { AttemptFailure } from "./TaskErrors.js"
import { TaskId } from "./TaskId.js"

/** The attempt succeeded; `result` is the definition's success, encoded. */
export class Succeeded extends Schema.TaggedClass<Succeeded>()("Succeeded", {
  id: TaskId,
  result: Schema.Unknown
}) {}

/** The attempt failed. */
export class Failed extends Schema.TaggedClass<Failed>()("Failed", {
  id: TaskId,
  error: AttemptFailure
}) {}

/**
 * The attempt came to no outcome of its own: its thread was killed for another task's sake
 * (a timeout or a cancel that would not yield) before it reported. It is given back, uncounted,
 * to run again.
 */
export class Abandoned extends Schema.TaggedClass<Abandoned>()("Abandoned", {
  id: TaskId
}) {}

/** How one attempt ended, as it crosses back from an executor. */
export const Outcome = Schema.Union(Succeeded, Failed, Abandoned)
export type Outcome = typeof Outcome.Type
