import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Activity from "../../domain/Activity.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskStatus } from "../../domain/TaskStatus.js"

/** A task changed status (published after the change is durable). */
export interface StatusChanged {
  readonly _tag: "StatusChanged"
  readonly id: TaskId
  readonly type: string
  readonly status: TaskStatus
  readonly at: number
}

/**
 * What in-process subscribers hear about tasks: status changes and log lines once durable,
 * progress (coalesced) as it comes.
 */
export type TaskEvent = StatusChanged | Activity.Progress | Activity.Log

/** The task an event is about. */
export const taskIdOf = (event: TaskEvent): string => (event._tag === "StatusChanged" ? event.id : event.taskId)

/**
 * In-process notifications: a PubSub of task events for subscribers, and a waiter table so
 * `await` does not scan every event. Another process's changes are not published here: one
 * poller (taskQueue/RemoteFinals) reads the end of every task waited for or watched, in one
 * query per interval, and `settle`s it.
 */
export class TaskEvents extends Context.Tag("troupe/TaskEvents")<TaskEvents, {
  /** Publishes durable changes; resolves the waiters of tasks that reached a final status. */
  readonly publish: (events: ReadonlyArray<TaskEvent>) => Effect.Effect<void>
  /** A subscription to every event from now on. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<TaskEvent>, never, Scope.Scope>
  /**
   * A subscription to one task's events from now on. Publishing hands each event only to its
   * task's subscribers, so a thousand watchers cost a map lookup per event, not a thousand
   * filters.
   */
  readonly subscribeTask: (id: string) => Effect.Effect<Queue.Dequeue<TaskEvent>, never, Scope.Scope>
  /**
   * Waits until `id` reaches a final status: registers first, then asks `isFinalNow` (a store
   * read), so an end between the two is not missed. A waiter is an entry and a Deferred, held
   * only while it waits.
   */
  readonly awaitFinal: <E>(id: TaskId, isFinalNow: Effect.Effect<boolean, E>) => Effect.Effect<void, E>
  /** The tasks someone waits for or watches here (whose end another process may bring). */
  readonly interest: Effect.Effect<ReadonlyArray<TaskId>>
  /**
   * Hands final statuses read from the store (another process ended those tasks) to their
   * waiters and watchers only: subscribers of every event hear this process's changes.
   */
  readonly settle: (events: ReadonlyArray<StatusChanged>) => Effect.Effect<void>
}>() {}

const FINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"])

const add = <K, V>(table: Map<K, Set<V>>, key: K, value: V) => {
  let set = table.get(key)
  if (set === undefined) table.set(key, set = new Set())
  set.add(value)
}

const remove = <K, V>(table: Map<K, Set<V>>, key: K, value: V) => {
  const set = table.get(key)
  set?.delete(value)
  if (set?.size === 0) table.delete(key)
}

/** Adds `value` under `key` for the life of the scope. */
const registered = <K, V>(table: Map<K, Set<V>>, key: K, value: V) =>
  Effect.acquireRelease(Effect.sync(() => add(table, key, value)), () => Effect.sync(() => remove(table, key, value)))

export const make = Effect.gen(function*() {
  const pubsub = yield* PubSub.unbounded<TaskEvent>()
  const waiters = new Map<TaskId, Set<Deferred.Deferred<void>>>()
  const watchers = new Map<string, Set<Queue.Queue<TaskEvent>>>()

  /** The waiters of the tasks that reached a final status, removed from the table. */
  const takeWaiters = (events: ReadonlyArray<TaskEvent>): Array<Deferred.Deferred<void>> => {
    const out: Array<Deferred.Deferred<void>> = []
    if (waiters.size === 0) return out
    for (const e of events) {
      if (e._tag !== "StatusChanged" || !FINAL.has(e.status)) continue
      const set = waiters.get(e.id)
      if (set === undefined) continue
      waiters.delete(e.id)
      out.push(...set)
    }
    return out
  }

  /** Hands events to their tasks' watchers and resolves the waiters of those that ended. */
  const deliver = (events: ReadonlyArray<TaskEvent>) =>
    Effect.suspend(() => {
      if (watchers.size > 0) {
        for (const e of events) {
          const queues = watchers.get(taskIdOf(e))
          if (queues !== undefined) for (const q of queues) Queue.unsafeOffer(q, e)
        }
      }
      return Effect.forEach(takeWaiters(events), (d) => Deferred.succeed(d, undefined), { discard: true })
    })

  return TaskEvents.of({
    publish: (events) => Effect.zipRight(PubSub.publishAll(pubsub, events), deliver(events)),
    interest: Effect.sync(() => {
      const ids = new Set<string>(waiters.keys())
      for (const id of watchers.keys()) ids.add(id)
      return [...ids] as Array<TaskId>
    }),
    settle: deliver,
    subscribe: PubSub.subscribe(pubsub),
    subscribeTask: (id) =>
      Effect.tap(
        Effect.acquireRelease(Queue.unbounded<TaskEvent>(), Queue.shutdown),
        (q) => registered(watchers, id, q)
      ),
    awaitFinal: (id, isFinalNow) => {
      const latch = Deferred.unsafeMake<void>(FiberId.none)
      return Effect.acquireUseRelease(
        Effect.sync(() => add(waiters, id, latch)),
        () => Effect.flatMap(isFinalNow, (final) => (final ? Effect.void : Deferred.await(latch))),
        () => Effect.sync(() => remove(waiters, id, latch))
      )
    }
  })
})

export const layer: Layer.Layer<TaskEvents> = Layer.effect(TaskEvents, make)
