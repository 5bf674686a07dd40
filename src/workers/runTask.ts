import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Activity from "../domain/Activity.js"
import * as Outcome from "../domain/Outcome.js"
import type { TaskContext } from "../domain/TaskDefinition.js"
import { HandlerNotFound } from "../domain/TaskErrors.js"
import * as TaskId from "../domain/TaskId.js"
import type { Handlers } from "./Handlers.js"
import { names } from "./Handlers.js"
import * as Inputs from "./inputs.js"
import type { WireTask } from "./Protocol.js"

/**
 * Where a running handler's progress and log lines go, one item at a time and in order: the
 * executor's sink in-process, the thread's activity outbox in a worker thread.
 */
export type Emit = (item: Activity.Activity) => Effect.Effect<void>

/** Items that only reach Effect's logger: for an executor given no sink. */
export const logOnly: Emit = (item) => {
  if (item._tag === "Progress") {
    return Effect.logDebug("progress").pipe(
      Effect.annotateLogs({ taskId: item.taskId, percent: item.percent, description: item.description })
    )
  }
  const annotated = (e: Effect.Effect<void>) => Effect.annotateLogs(e, { taskId: item.taskId, attempt: item.attempt })
  switch (item.level) {
    case "debug":
      return annotated(Effect.logDebug(item.message))
    case "info":
      return annotated(Effect.logInfo(item.message))
    case "warn":
      return annotated(Effect.logWarning(item.message))
    case "error":
      return annotated(Effect.logError(item.message))
  }
}

/**
 * Runs one task against a handlers registry; always yields an Outcome. Progress is clamped to
 * 0–100 and descriptions and messages are cut to the Activity limits; log lines are numbered
 * from 1 per attempt; every item is stamped with Clock time.
 */
export const runTask = (
  handlers: Handlers<unknown>,
  task: WireTask,
  emit: Emit,
  services: Context.Context<unknown> | undefined
): Effect.Effect<Outcome.Outcome> => {
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
  let lines = 0
  const ctx: TaskContext = {
    taskId,
    attempt: task.attempt,
    progress: (percent, description) =>
      Effect.clockWith((clock) =>
        emit({
          _tag: "Progress",
          taskId: task.id,
          attempt: task.attempt,
          percent: Activity.clampPercent(percent),
          description: description === undefined ? null : Activity.truncate(description, Activity.MAX_DESCRIPTION),
          at: clock.unsafeCurrentTimeMillis()
        })
      ),
    // The line number is taken when the line is emitted, so numbering follows emission order.
    log: (level, message) =>
      Effect.clockWith((clock) =>
        Effect.suspend(() =>
          emit({
            _tag: "Log",
            taskId: task.id,
            attempt: task.attempt,
            n: ++lines,
            level,
            message: Activity.truncate(message, Activity.MAX_MESSAGE),
            at: clock.unsafeCurrentTimeMillis()
          })
        )
      ),
    ...Inputs.make(task.id, task.inputs ?? [], task.missingInputs ?? [])
  }
  const run = handler.execute(taskId, task.payload, ctx)
  // The services its module (and, in-process, the app) provided; with none, a handler that
  // requires one dies saying which (the types of a module loaded by path are not checked).
  return services === undefined ? run as Effect.Effect<Outcome.Outcome> : Effect.provide(run, services)
}
