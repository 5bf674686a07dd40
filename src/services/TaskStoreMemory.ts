import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Rank from "../domain/Rank.js"
import { Lease, Task } from "../domain/Task.js"
import type { Claimed, ReadyRef } from "../domain/Task.js"
import { TaskNotFound } from "../domain/TaskErrors.js"
import type { TaskId } from "../domain/TaskId.js"
import * as TaskStatus from "../domain/TaskStatus.js"
import * as Transition from "../domain/Transition.js"
import { TaskStore } from "./TaskStore.js"
import type { Inserted } from "./TaskStore.js"

/**
 * An in-memory TaskStore for unit tests and the TroupeTest kit. Same contract as SQLite
 * (the contract suite runs against both); nothing survives the process.
 */
export const makeMemory = Effect.sync(() => {
  const tasks = new Map<TaskId, Task>()
  const byIdempotencyKey = new Map<string, TaskId>()
  let seq = 0

  const update = (task: Task, patch: Partial<Task>): Task => {
    const next = new Task({ ...task, ...patch }, { disableValidation: true })
    tasks.set(task.id, next)
    return next
  }
  const inserted = (t: Task, created: boolean): Inserted => ({
    id: t.id,
    type: t.type,
    status: t.status,
    priority: t.priority,
    rank: t.rank,
    seq: t.seq,
    created
  })
  const legal = (task: Task | undefined, event: Transition.TaskEvent): task is Task =>
    task !== undefined && Transition.isLegal(task.status, event)
  const holds = (task: Task | undefined, token: string): task is Task =>
    task !== undefined && task.lease !== null && task.lease.token === token

  return TaskStore.of({
    insert: (news) =>
      Effect.sync(() =>
        news.map((n) => {
          const existing = n.idempotencyKey === null ? undefined : byIdempotencyKey.get(n.idempotencyKey)
          const prior = existing !== undefined ? tasks.get(existing) : tasks.get(n.id)
          if (prior !== undefined) return inserted(prior, false)
          const task = new Task({
            ...n,
            attempt: 0,
            seq: ++seq,
            updatedAt: n.createdAt,
            startedAt: null,
            finishedAt: null,
            lease: null,
            result: null,
            errors: [],
            progress: 0,
            description: null
          }, { disableValidation: true })
          tasks.set(task.id, task)
          if (n.idempotencyKey !== null) byIdempotencyKey.set(n.idempotencyKey, task.id)
          return inserted(task, true)
        })
      ),
    get: (id) =>
      Effect.suspend(() => {
        const task = tasks.get(id)
        return task === undefined ? Effect.fail(new TaskNotFound({ taskId: id })) : Effect.succeed(task)
      }),
    list: (query) =>
      Effect.sync(() => {
        const out: Array<Task> = []
        for (const task of tasks.values()) {
          if (query.afterSeq !== undefined && task.seq <= query.afterSeq) continue
          if (query.status !== undefined && !query.status.includes(task.status)) continue
          if (query.type !== undefined && task.type !== query.type) continue
          out.push(task)
        }
        return out.sort((a, b) => a.seq - b.seq).slice(0, query.limit)
      }),
    ready: (limit) =>
      Effect.sync(() => {
        const out: Array<ReadyRef> = []
        for (const t of tasks.values()) {
          if (t.status === "pending") out.push({ id: t.id, type: t.type, priority: t.priority, rank: t.rank, seq: t.seq })
        }
        return out.sort(Rank.compare).slice(0, limit)
      }),
    claim: (ids, lease) =>
      Effect.sync(() => {
        const out: Array<Claimed> = []
        for (const id of ids) {
          const task = tasks.get(id)
          if (!legal(task, "claim")) continue
          const next = update(task, {
            status: Transition.target("claim"),
            attempt: task.attempt + 1,
            startedAt: lease.now,
            updatedAt: lease.now,
            lease: new Lease({ owner: lease.owner, token: lease.token, expiresAt: lease.expiresAt })
          })
          out.push({
            id: next.id,
            type: next.type,
            payload: next.payload,
            priority: next.priority,
            attempt: next.attempt,
            retry: next.retry,
            timeoutMs: next.timeoutMs,
            rank: next.rank,
            createdAt: next.createdAt,
            runAt: next.runAt,
            token: lease.token
          })
        }
        return out
      }),
    complete: (items, now) =>
      Effect.sync(() =>
        items.flatMap((item) => {
          const task = tasks.get(item.id)
          if (!legal(task, "complete") || !holds(task, item.token)) return []
          update(task, {
            status: Transition.target("complete"),
            result: item.result,
            lease: null,
            progress: 100,
            finishedAt: now,
            updatedAt: now
          })
          return [item.id]
        })
      ),
    fail: (items, now) =>
      Effect.sync(() =>
        items.flatMap((item) => {
          const task = tasks.get(item.id)
          const event = item.next._tag === "Retry" ? "retry" : "fail"
          if (!legal(task, event) || !holds(task, item.token)) return []
          update(task, {
            status: Transition.target(event),
            errors: [...task.errors, item.error],
            lease: null,
            updatedAt: now,
            ...(item.next._tag === "Retry"
              ? { runAt: item.next.runAt, rank: item.next.rank, priority: item.next.priority }
              : { finishedAt: now })
          })
          return [item.id]
        })
      ),
    release: (items, now) =>
      Effect.sync(() =>
        items.flatMap((item) => {
          const task = tasks.get(item.id)
          if (!legal(task, "release") || !holds(task, item.token)) return []
          update(task, {
            status: Transition.target("release"),
            attempt: item.countAttempt ? task.attempt : task.attempt - 1,
            lease: null,
            updatedAt: now
          })
          return [item.id]
        })
      ),
    extendLeases: (items, expiresAt) =>
      Effect.sync(() =>
        items.flatMap((item) => {
          const task = tasks.get(item.id)
          if (task?.status !== "running" || !holds(task, item.token)) return []
          update(task, { lease: new Lease({ ...task.lease!, expiresAt }) })
          return [item.id]
        })
      ),
    wakeDue: (now) =>
      Effect.sync(() => {
        let woken = 0
        for (const task of tasks.values()) {
          if (legal(task, "wake") && task.runAt <= now) {
            update(task, { status: Transition.target("wake"), updatedAt: now })
            woken++
          }
        }
        return woken
      }),
    nextWakeAt: Effect.sync(() => {
      let min: number | undefined
      for (const task of tasks.values()) {
        if (legal(task, "wake") && (min === undefined || task.runAt < min)) min = task.runAt
      }
      return Option.fromNullable(min)
    }),
    recoverExpired: (now) =>
      Effect.sync(() => {
        const out: Array<TaskId> = []
        for (const task of tasks.values()) {
          if (legal(task, "release") && task.lease !== null && task.lease.expiresAt < now) {
            update(task, { status: Transition.target("release"), lease: null, updatedAt: now })
            out.push(task.id)
          }
        }
        return out
      }),
    counts: Effect.sync(() => {
      const counts = Object.fromEntries(TaskStatus.all.map((s) => [s, 0])) as Record<TaskStatus.TaskStatus, number>
      for (const task of tasks.values()) counts[task.status]++
      return counts
    })
  })
})

/** The in-memory store (unit tests and TroupeTest only). */
export const layerMemory: Layer.Layer<TaskStore> = Layer.effect(TaskStore, makeMemory)
