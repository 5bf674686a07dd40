import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Task } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import { StoreError, TaskCancelled, TaskFailed } from "../../domain/TaskErrors.js"

/** A completed task's result as its definition types it (as stored: JSON). */
export const decodeResult = <P, PI, S, SI, F, FI>(
  definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI>,
  id: TaskId,
  result: unknown
): Effect.Effect<S, StoreError> =>
  Schema.decodeUnknown(definition.success)(result).pipe(
    Effect.mapError((e) => new StoreError({ message: `task ${id}: stored result does not match "${definition.name}": ${e.message}` }))
  )

/**
 * A completed task's result as its completion published it (this process ran it): read as the
 * store keeps it (JSON), so an await decodes the same value whether or not it read the store.
 */
export const decodePublished = <P, PI, S, SI, F, FI>(
  definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI>,
  id: TaskId,
  result: unknown
): Effect.Effect<S, StoreError> =>
  Effect.flatMap(
    Effect.try({
      try: (): unknown => JSON.parse(JSON.stringify(result ?? null)),
      catch: (e) => new StoreError({ message: `task ${id}: result is not JSON: ${String(e)}` })
    }),
    (json) => decodeResult(definition, id, json)
  )

/**
 * A final task as its definition types it: the decoded success, or the handler's own typed
 * failure, else TaskFailed (with every attempt's error) or TaskCancelled.
 */
export const decode = <P, PI, S, SI, F, FI>(
  definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI>,
  task: Task
): Effect.Effect<S, F | TaskFailed | TaskCancelled | StoreError> => {
  switch (task.status) {
    case "completed":
      return decodeResult(definition, task.id, task.result)
    case "cancelled":
      return Effect.fail(new TaskCancelled({ taskId: task.id }))
    default: {
      const last = task.errors[task.errors.length - 1]
      const failed = new TaskFailed({ taskId: task.id, errors: task.errors })
      if (last?.error._tag !== "HandlerFailure") return Effect.fail(failed)
      return Schema.decodeUnknown(definition.failure)(last.error.error).pipe(
        Effect.matchEffect({ onFailure: () => Effect.fail(failed), onSuccess: (f) => Effect.fail(f) })
      )
    }
  }
}
