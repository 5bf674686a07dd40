import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Rank from "../../domain/Rank.js"
import { InvalidTransition, TaskNotFound, UnknownTaskType } from "../../domain/TaskErrors.js"
import type { StoreError } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as TaskStatus from "../../domain/TaskStatus.js"
import * as Transition from "../../domain/Transition.js"
import type { Scheduler } from "../scheduler/Scheduler.js"
import type { Applied, Change, TaskStore } from "../store/TaskStore.js"
import type { Registry } from "./Registry.js"
import type { Config, ControlError, Target } from "./TaskQueue.js"

// Lifecycle control of tasks, types and the queue: cancel, pause, resume, retry, delete. Each
// is one durable transition, checked against the domain's transition table, then published.

export interface Deps {
  readonly store: TaskStore["Type"]
  readonly registry: Registry["Type"]
  readonly scheduler: Scheduler["Type"]
  readonly config: Config
  readonly tracing: boolean
}

export const make = ({ config, registry, scheduler, store, tracing }: Deps) => {
  /** Publishes changes made here and lets the scheduler schedule what they freed. */
  const notify = (changes: ReadonlyArray<Change>): Effect.Effect<void, StoreError> => scheduler.notifyChanges(changes)

  /**
   * Applies one lifecycle event to one task; when the store changes nothing, says why: the
   * task does not exist, or the event is illegal from its status.
   */
  const control = (
    id: TaskId,
    event: Transition.TaskEvent,
    apply: (ids: ReadonlyArray<TaskId>, now: number) => Effect.Effect<Applied, StoreError>
  ): Effect.Effect<Applied, ControlError> =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const applied = yield* apply([id], now)
      if (applied.ids.length === 0) {
        const task = yield* store.get(id)
        return yield* Either.match(Transition.transition(id, task.status, event), {
          onLeft: (e) => Effect.fail(e),
          onRight: () =>
            Effect.fail(new InvalidTransition({ taskId: id, from: task.status, event, message: `task ${id} changed meanwhile; try again` }))
        })
      }
      yield* notify(applied.changes)
      return applied
    })

  const cancel = (id: TaskId) =>
    Effect.asVoid(Effect.tap(control(id, "cancel", store.cancel), () => scheduler.interrupt([id]))).pipe(tracing ? Effect.withSpan("TaskQueue.cancel", { attributes: { "task.id": id } }) : identity)

  const knownType = (type: string): Effect.Effect<void, UnknownTaskType> =>
    registry.names.length === 0 || registry.names.includes(type)
      ? Effect.void
      : Effect.fail(new UnknownTaskType({ taskType: type, known: registry.names }))

  const gate = (target: Target, paused: boolean) =>
    Effect.gen(function*() {
      if ("task" in target) {
        yield* control(target.task, paused ? "pause" : "resume", paused ? store.pause : store.resume)
        return
      }
      if ("type" in target) yield* knownType(target.type)
      const now = yield* Clock.currentTimeMillis
      yield* store.setPaused("type" in target ? { type: target.type } : {}, paused, now)
      yield* scheduler.refreshPauses
    })

  const retry = (id: TaskId) =>
    Effect.gen(function*() {
      // A task whose dependency did not complete would wait for it forever: retry that first.
      const task = yield* store.get(id)
      for (const dep of task.dependsOn) {
        const status = yield* Effect.map(Effect.either(store.get(dep)), (e) => (e._tag === "Right" ? e.right.status : undefined))
        if (status === undefined || status === "failed" || status === "cancelled") {
          return yield* Effect.fail(new InvalidTransition({
            taskId: id,
            from: task.status,
            event: "manualRetry",
            message: `task ${id} depends on ${dep}, which ${status === undefined ? "no longer exists" : `is ${status}`}; retry that first`
          }))
        }
      }
      yield* control(id, "manualRetry", (ids, now) => store.retry(ids, now, (priority) => Rank.rank(now, priority, config.agingStepMs)))
    })

  const remove = (id: TaskId, options?: { readonly force?: boolean }) =>
    Effect.gen(function*() {
      const task = yield* store.get(id)
      if (!TaskStatus.isFinal(task.status)) {
        if (options?.force !== true) {
          return yield* Effect.fail(new InvalidTransition({
            taskId: id,
            from: task.status,
            event: "delete",
            message: `task ${id} is ${task.status}; only a finished task can be deleted (force cancels it first)`
          }))
        }
        yield* cancel(id)
      }
      const removed = yield* store.remove([id])
      if (removed.length === 0) return yield* Effect.fail(new TaskNotFound({ taskId: id }))
    })

  return {
    cancel,
    pause: (target: Target) => gate(target, true),
    resume: (target: Target) => gate(target, false),
    retry,
    delete: remove
  }
}
