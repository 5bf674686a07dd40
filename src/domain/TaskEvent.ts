import * as Schema from "effect/Schema"
import { Log, Progress } from "./Activity.js"
import { TaskId } from "./TaskId.js"
import { TaskStatus } from "./TaskStatus.js"

/** A task changed status (published after the change is durable). */
export const StatusChanged = Schema.TaggedStruct("StatusChanged", {
  id: TaskId,
  type: Schema.String,
  status: TaskStatus,
  at: Schema.Number
})
export type StatusChanged = typeof StatusChanged.Type

/**
 * What subscribers hear about tasks: status changes and log lines once durable, progress
 * (coalesced) as it comes. The same shape in-process and over GET /events.
 */
export const TaskEvent = Schema.Union(StatusChanged, Progress, Log)
export type TaskEvent = typeof TaskEvent.Type
