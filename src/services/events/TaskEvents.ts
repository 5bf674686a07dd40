import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { StatusChanged, TaskEvent } from "../../domain/TaskEvent.js"
import type { EventsOverflow } from "../../domain/TaskErrors.js"
import { TaskNotFound } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskStatus } from "../../domain/TaskStatus.js"
import * as Subscribers from "./Subscribers.js"

export type { StatusChanged, TaskEvent } from "../../domain/TaskEvent.js"

/** The task an event is about. */
export const taskIdOf = (event: TaskEvent): string => (event._tag === "StatusChanged" ? event.id : event.taskId)

/**
 * How a wait ended: with the task's result when its completion was published with it (this
 * process ran it), so the waiter need not read the store; undefined otherwise.
 */
export type Final = { readonly result: unknown } | undefined

/**
 * In-process notifications, one dispatcher for every kind of listener: subscribers of every
 * event, watchers of one task (a table by task, so a thousand watchers cost a lookup per event,
 * not a thousand filters) and waiters of a task's end (one latch per task, so `await` does not
 * scan events). Each subscriber and watcher has a bounded buffer: one that falls behind is let
 * go (its stream fails with EventsOverflow) instead of slowing the publisher or growing without
 * bound. Another process's changes are not published here: the queue's readers
 * (queue/RemoteFinals) read the status of every task waited for or watched, in shared queries,
 * and `settle` the ends (or report the tasks `missing`).
 */
export class TaskEvents extends Context.Tag("troupe/TaskEvents")<TaskEvents, {
  /**
   * Publishes durable changes; resolves the waiters of tasks that reached a final status, with
   * the results of those that completed when `results` has them (as stored).
   */
  readonly publish: (events: ReadonlyArray<TaskEvent>, results?: ReadonlyMap<string, unknown>) => Effect.Effect<void>
  /**
   * A subscription to every event from now on (joined when this runs, for the scope's life),
   * in deliveries of one publish each.
   */
  readonly subscribe: Effect.Effect<Stream.Stream<ReadonlyArray<TaskEvent>, EventsOverflow>, never, Scope.Scope>
  /** A subscription to one task's events from now on (joined when this runs). */
  readonly subscribeTask: (id: string) => Effect.Effect<Stream.Stream<TaskEvent, EventsOverflow>, never, Scope.Scope>
  /**
   * Waits until `id` reaches a final status: registers first, then runs `check` (which asks for
   * the task's status to be read), so an end between the two is not missed. Fails with
   * TaskNotFound when the task is found not to exist. The waiters of one task share one entry
   * and one Deferred, held only while someone waits.
   */
  readonly awaitFinal: (id: TaskId, check: Effect.Effect<void>) => Effect.Effect<Final, TaskNotFound>
  /** The tasks someone waits for or watches here (whose end another process may bring). */
  readonly interest: Effect.Effect<ReadonlyArray<TaskId>>
  /**
   * Hands final statuses read from the store (another process ended those tasks) to their
   * waiters and watchers only: subscribers of every event hear this process's changes.
   */
  readonly settle: (events: ReadonlyArray<StatusChanged>) => Effect.Effect<void>
  /** These tasks were found not to exist: their waiters fail with TaskNotFound. */
  readonly missing: (ids: ReadonlyArray<TaskId>) => Effect.Effect<void>
}>() {}

const FINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"])

/** How far behind a subscriber may fall before it is let go. */
export interface Capacities {
  /** Deliveries (one publish each: a commit's events) for a subscriber of every event. */
  readonly subscriber: number
  /** Events for a watcher of one task. */
  readonly watcher: number
}

export const defaultCapacities: Capacities = { subscriber: 4096, watcher: 4096 }

/** The waiters of one task: one latch, however many wait. */
interface Waiting {
  readonly latch: Deferred.Deferred<Final, TaskNotFound>
  count: number
}

export const make = (capacities: Capacities = defaultCapacities) => Effect.sync(() => {
  const all = Subscribers.make<ReadonlyArray<TaskEvent>>()
  const waiters = new Map<TaskId, Waiting>()
  const watchers = new Map<string, Subscribers.Subscribers<TaskEvent>>()

  const join = (id: TaskId): Waiting => {
    let waiting = waiters.get(id)
    if (waiting === undefined) waiters.set(id, waiting = { latch: Deferred.unsafeMake<Final, TaskNotFound>(FiberId.none), count: 0 })
    waiting.count++
    return waiting
  }

  const leave = (id: TaskId, waiting: Waiting | undefined) => {
    if (waiting !== undefined && --waiting.count === 0 && waiters.get(id) === waiting) waiters.delete(id)
  }

  /** Hands events to their tasks' watchers and resolves the waiters of those that ended. */
  const deliver = (events: ReadonlyArray<TaskEvent>, results?: ReadonlyMap<string, unknown>) =>
    Effect.sync(() => {
      if (watchers.size > 0) {
        for (const e of events) {
          watchers.get(taskIdOf(e))?.offer(e)
        }
      }
      if (waiters.size === 0) return
      for (const e of events) {
        if (e._tag !== "StatusChanged" || !FINAL.has(e.status)) continue
        const waiting = waiters.get(e.id)
        if (waiting === undefined) continue
        waiters.delete(e.id)
        const final: Final = e.status === "completed" && results?.has(e.id) === true ? { result: results.get(e.id) } : undefined
        Deferred.unsafeDone(waiting.latch, Exit.succeed(final))
      }
    })

  return TaskEvents.of({
    publish: (events, results) => Effect.zipRight(Effect.sync(() => all.offer(events)), deliver(events, results)),
    interest: Effect.sync(() => {
      const ids = new Set<string>(waiters.keys())
      for (const id of watchers.keys()) ids.add(id)
      return [...ids] as Array<TaskId>
    }),
    settle: (events) => deliver(events),
    missing: (ids) =>
      Effect.sync(() => {
        for (const id of ids) {
          const waiting = waiters.get(id)
          if (waiting === undefined) continue
          waiters.delete(id)
          Deferred.unsafeDone(waiting.latch, Exit.fail(new TaskNotFound({ taskId: id })))
        }
      }),
    subscribe: all.subscribe(capacities.subscriber),
    // The task's entry goes once its last watcher has left (finalizers run in reverse order).
    subscribeTask: (id) =>
      Effect.flatMap(
        Effect.acquireRelease(
          Effect.sync(() => {
            let subscribers = watchers.get(id)
            if (subscribers === undefined) watchers.set(id, subscribers = Subscribers.make())
            return subscribers
          }),
          (subscribers) => Effect.sync(() => subscribers.size() === 0 && watchers.get(id) === subscribers && watchers.delete(id))
        ),
        (subscribers) => subscribers.subscribe(capacities.watcher)
      ),
    // Registered before the read (an end between the two is not missed), and left however the
    // wait ends: the finalizer is in place before the registration.
    awaitFinal: (id, check) => {
      let waiting: Waiting | undefined
      return Effect.ensuring(
        Effect.flatMap(Effect.sync(() => (waiting = join(id))), (w) => Effect.zipRight(check, Deferred.await(w.latch))),
        Effect.sync(() => leave(id, waiting))
      )
    }
  })
})

export const layer: Layer.Layer<TaskEvents> = Layer.effect(TaskEvents, make())
