import * as Schema from "effect/Schema"
import { TaskId } from "./TaskId.js"
import { TaskStatus } from "./TaskStatus.js"

/** Most tasks a graph holds (a page can draw that many; a larger DAG is cut, and says so). */
export const maxNodes = 200
/** Steps walked each way from the task. */
export const maxDepth = 25

/**
 * A task's dependency graph: the task, what it depends on (upstream, transitively) and what
 * depends on it (downstream), each with its status; an edge runs from a dependency to its
 * dependent. Tasks deleted since are not in it.
 */
export const TaskGraph = Schema.Struct({
  nodes: Schema.Array(Schema.Struct({ id: TaskId, type: Schema.String, status: TaskStatus })),
  edges: Schema.Array(Schema.Struct({ from: TaskId, to: TaskId })),
  /** More tasks are connected than `maxNodes`: the graph was cut. */
  truncated: Schema.Boolean
})
export type TaskGraph = typeof TaskGraph.Type
