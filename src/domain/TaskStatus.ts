import * as Schema from "effect/Schema"

/** Every status a task can be in (SPEC.md, Concepts). */
export const TaskStatus = Schema.Literal(
  "pending",
  "blocked",
  "delayed",
  "retrying",
  "running",
  "paused",
  "completed",
  "failed",
  "cancelled"
)
export type TaskStatus = typeof TaskStatus.Type

export const all: ReadonlyArray<TaskStatus> = TaskStatus.literals

/** Final statuses never change again (except by an explicit manual retry). */
export const finals: ReadonlyArray<TaskStatus> = ["completed", "failed", "cancelled"]

export const isFinal = (status: TaskStatus): boolean => finals.includes(status)
