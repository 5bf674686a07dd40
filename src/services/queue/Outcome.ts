import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Task } from "../../domain/Task.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import { StoreError, TaskCancelled, TaskFailed } from "../../domain/TaskErrors.js"

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
      return Schema.decodeUnknown(definition.success)(task.result).pipe(
        Effect.mapError((e) =>
          new StoreError({ message: `task ${task.id}: stored result does not match "${definition.name}": ${e.message}` })
        )
      )
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
