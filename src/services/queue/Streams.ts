import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Log } from "../../domain/Activity.js"
import type { EventsOverflow, StoreError, TaskNotFound } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as TaskStatus from "../../domain/TaskStatus.js"
import type { TaskEvent } from "../events/TaskEvents.js"
import { TaskEvents } from "../events/TaskEvents.js"
import { TaskStore } from "../store/TaskStore.js"

// Subscriptions. Each subscribes to the in-process events before it reads the store, so
// nothing falls between the read and the live stream; status changes and log lines are
// published only once durable, and a task's lines before its final status.

const isEnd = (id: string) => (e: TaskEvent) => e._tag === "StatusChanged" && e.id === id && TaskStatus.isFinal(e.status)

/** A line's place: its attempt and number. */
export interface LogPosition {
  readonly attempt: number
  readonly n: number
}

const after = (last: LogPosition | undefined) => (l: Log) =>
  last === undefined || l.attempt > last.attempt || (l.attempt === last.attempt && l.n > last.n)

/** Every task event of this process from now on (what is waiting is read as one chunk). */
export const events: Stream.Stream<TaskEvent, EventsOverflow, TaskEvents> = Stream.unwrapScoped(
  Effect.map(Effect.flatMap(TaskEvents, (e) => e.subscribe), Stream.mapConcatChunk(Chunk.unsafeFromArray))
)

/**
 * A task's log lines (after `from` when given): those stored, then (with `follow`) live ones
 * until the task ends. Lines are ordered by attempt and line number; a live line already read
 * from the store is skipped.
 */
export const logs = (
  id: TaskId,
  follow: boolean,
  from?: LogPosition
): Stream.Stream<Log, TaskNotFound | StoreError | EventsOverflow, TaskEvents | TaskStore> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const store = yield* TaskStore
    const mine = yield* Effect.flatMap(TaskEvents, (e) => e.subscribeTask(id))
    const task = yield* store.get(id)
    const stored = (yield* store.logs(id)).filter(after(from))
    const head = Stream.fromIterable(stored)
    if (!follow || TaskStatus.isFinal(task.status)) return head
    let last: LogPosition | undefined = stored[stored.length - 1] ?? from
    // Another process's end of the task reaches this subscription too (RemoteFinals).
    const live = mine.pipe(
      Stream.takeUntil(isEnd(id)),
      Stream.filter((e): e is Log => e._tag === "Log" && e.taskId === id && after(last)(e)),
      Stream.tap((l) => Effect.sync(() => (last = l)))
    )
    // Lines another process stored are read once the task has ended.
    const tail = Stream.unwrap(Effect.map(store.logs(id), (lines) => Stream.fromIterable(lines.filter((l) => after(last)(l)))))
    return Stream.concat(Stream.concat(head, live), tail)
  }))

/**
 * One task's life from now on: a snapshot (its status, and its progress if any), then every
 * status change, progress report and log line until it ends (the final status included).
 */
export const watch = (id: TaskId): Stream.Stream<TaskEvent, TaskNotFound | StoreError | EventsOverflow, TaskEvents | TaskStore> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const store = yield* TaskStore
    const mine = yield* Effect.flatMap(TaskEvents, (e) => e.subscribeTask(id))
    const task = yield* store.get(id)
    const snapshot: Array<TaskEvent> = [{ _tag: "StatusChanged", id: task.id, type: task.type, status: task.status, at: task.updatedAt }]
    if (task.status === "running" && (task.progress > 0 || task.description !== null)) {
      snapshot.push({
        _tag: "Progress",
        taskId: task.id,
        attempt: task.attempt,
        percent: task.progress,
        description: task.description,
        at: task.updatedAt
      })
    }
    if (TaskStatus.isFinal(task.status)) return Stream.fromIterable(snapshot)
    const live = mine.pipe(Stream.takeUntil(isEnd(id)))
    return Stream.concat(Stream.fromIterable(snapshot), live)
  }))
