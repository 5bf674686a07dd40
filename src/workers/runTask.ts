import * as Effect from "effect/Effect"
import * as Outcome from "../domain/Outcome.js"
import type { LogLevel, TaskContext } from "../domain/TaskDefinition.js"
import { HandlerNotFound } from "../domain/TaskErrors.js"
import * as TaskId from "../domain/TaskId.js"
import type { Handlers } from "./Handlers.js"
import { names } from "./Handlers.js"
import type { WireTask } from "./Protocol.js"

/** Where a running handler's progress and log lines go (the worker's event channel). */
export interface Events {
  readonly progress: (taskId: string, percent: number, description: string | undefined) => Effect.Effect<void>
  readonly log: (taskId: string, level: LogLevel, message: string) => Effect.Effect<void>
}

/** Events that only reach Effect's logger (until a channel carries them to the store). */
export const logOnly: Events = {
  progress: (taskId, percent, description) =>
    Effect.logDebug("progress").pipe(Effect.annotateLogs({ taskId, percent, description })),
  log: (taskId, level, message) => {
    const annotated = (e: Effect.Effect<void>) => Effect.annotateLogs(e, { taskId })
    switch (level) {
      case "debug":
        return annotated(Effect.logDebug(message))
      case "info":
        return annotated(Effect.logInfo(message))
      case "warn":
        return annotated(Effect.logWarning(message))
      case "error":
        return annotated(Effect.logError(message))
    }
  }
}

/** Runs one task against a handlers registry; always yields an Outcome. */
export const runTask = (handlers: Handlers, task: WireTask, events: Events): Effect.Effect<Outcome.Outcome> => {
  const handler = handlers.byName.get(task.type)
  if (handler === undefined) {
    return Effect.succeed(
      new Outcome.Failed({
        id: TaskId.unsafeMake(task.id),
        error: new HandlerNotFound({
          taskType: task.type,
          message: `no handler for task type "${task.type}" (registered: ${names(handlers).join(", ") || "none"})`
        })
      })
    )
  }
  const taskId = TaskId.unsafeMake(task.id)
  const ctx: TaskContext = {
    taskId,
    attempt: task.attempt,
    progress: (percent, description) =>
      events.progress(task.id, Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0)), description),
    log: (level, message) => events.log(task.id, level, message)
  }
  return handler.execute(taskId, task.payload, ctx)
}
