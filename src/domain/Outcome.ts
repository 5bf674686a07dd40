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

/** How one attempt ended, as it crosses back from an executor. */
export const Outcome = Schema.Union(Succeeded, Failed)
export type Outcome = typeof Outcome.Type
