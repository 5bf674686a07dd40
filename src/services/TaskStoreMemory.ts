import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Log } from "../domain/Activity.js"
import * as Rank from "../domain/Rank.js"
import { Lease, Task } from "../domain/Task.js"
import type { Claimed, ReadyRef } from "../domain/Task.js"
import { AttemptError, DependencyFailed, InvalidDependency, QueueFull, TaskNotFound } from "../domain/TaskErrors.js"
import type { TaskId } from "../domain/TaskId.js"
import * as TaskStatus from "../domain/TaskStatus.js"
import * as Transition from "../domain/Transition.js"
import { TaskStore, truncationMarker } from "./TaskStore.js"
import type { Applied, Change, CountRow, Inserted } from "./TaskStore.js"

const refOf = (t: Task): ReadyRef => ({ id: t.id, type: t.type, priority: t.priority, rank: t.rank, seq: t.seq, key: t.key, resources: t.resources })
const changeOf = (t: Task): Change => ({ ...refOf(t), status: t.status })

/**
 * An in-memory TaskStore for unit tests and the TroupeTest kit. Same contract as SQLite
 * (the contract suite runs against both); nothing survives the process. Every method runs
 * synchronously, so each is atomic like a transaction.
 */
export const makeMemory = Effect.sync(() => {
  const tasks = new Map<TaskId, Task>()
  const byIdempotencyKey = new Map<string, TaskId>()
  /** dependency → the tasks that wait on it. */
  const dependents = new Map<TaskId, Set<TaskId>>()
  const logs = new Map<TaskId, Array<Log>>()
  const pausedTypes = new Set<string>()
  let queuePaused = false
  let seq = 0

  const update = (task: Task, patch: Partial<Task>): Task => {
    const next = new Task({ ...task, ...patch }, { disableValidation: true })
    tasks.set(task.id, next)
    return next
  }
  const inserted = (t: Task, created: boolean): Inserted => ({ ...refOf(t), status: t.status, created })
  const legal = (task: Task | undefined, event: Transition.TaskEvent): task is Task =>
    task !== undefined && Transition.isLegal(task.status, event)
  const holds = (task: Task | undefined, token: string): task is Task =>
    task !== undefined && task.lease !== null && task.lease.token === token
  const isActive = (t: Task) => !TaskStatus.isFinal(t.status)
  /** Running tasks whose lease matches become pending again, the attempt count kept. */
  const recoverWhere = (now: number, matches: (lease: Lease) => boolean) =>
    Effect.sync(() => {
      const out: Array<TaskId> = []
      for (const task of tasks.values()) {
        if (legal(task, "release") && task.lease !== null && matches(task.lease)) {
          update(task, { status: Transition.target("release"), lease: null, updatedAt: now })
          out.push(task.id)
        }
      }
      return out
    })

  /** The oldest unfinished task of each key, and the keys that have a task running. */
  const keyHeadSeqs = (): { readonly heads: Map<string, number>; readonly running: Set<string> } => {
    const heads = new Map<string, number>()
    const running = new Set<string>()
    for (const t of tasks.values()) {
      if (t.key === null || !isActive(t)) continue
      if (t.status === "running") running.add(t.key)
      const head = heads.get(t.key)
      if (head === undefined || t.seq < head) heads.set(t.key, t.seq)
    }
    return { heads, running }
  }
  /** No key, or the key's oldest unfinished task while none of the key runs. */
  const isKeyHead = (t: Task, keys: ReturnType<typeof keyHeadSeqs>) =>
    t.key === null || (keys.heads.get(t.key) === t.seq && !keys.running.has(t.key))

  /** Fails, transitively, the blocked or paused dependents of tasks that ended without completing. */
  const failDependents = (roots: ReadonlyArray<TaskId>, now: number): Array<Change> => {
    const out: Array<Change> = []
    const queue = [...roots]
    while (queue.length > 0) {
      const dep = queue.shift()!
      for (const id of dependents.get(dep) ?? []) {
        const task = tasks.get(id)
        if (!legal(task, "dependencyFailed")) continue
        const error = new DependencyFailed({ dependency: dep, message: `dependency ${dep} did not complete` })
        const next = update(task, {
          status: Transition.target("dependencyFailed"),
          errors: [...task.errors, new AttemptError({ attempt: task.attempt, at: now, error })],
          finishedAt: now,
          updatedAt: now
        })
        out.push(changeOf(next))
        queue.push(id)
      }
    }
    return out
  }

  /** Counts completed dependencies down; dependents left with none become pending (or delayed). */
  const unblockDependents = (completed: ReadonlyArray<TaskId>, now: number): Array<Change> => {
    const out: Array<Change> = []
    for (const dep of completed) {
      for (const id of dependents.get(dep) ?? []) {
        const task = tasks.get(id)
        if (task === undefined) continue
        const pendingDeps = task.pendingDeps - 1
        if (pendingDeps === 0 && legal(task, "unblock")) {
          const event = task.runAt > now ? "unblockLater" : "unblock"
          out.push(changeOf(update(task, { pendingDeps, status: Transition.target(event), runAt: Math.max(task.runAt, now), updatedAt: now })))
        } else {
          update(task, { pendingDeps })
        }
      }
    }
    return out
  }

  const applied = (ids: Array<TaskId>, changes: Array<Change>): Applied => ({ ids, changes })
  const changeSet = (done: Array<Change>, cascade: Array<Change>): Applied => ({ ids: done.map((c) => c.id), changes: [...done, ...cascade] })

  const store = TaskStore.of({
    insert: (news, options) =>
      Effect.suspend((): Effect.Effect<Array<Inserted>, InvalidDependency | QueueFull> => {
        // Decide everything before changing anything: a failing insert stores nothing.
        const results: Array<Inserted | undefined> = []
        const creating = new Map<TaskId, (typeof news)[number]>()
        const keysSeen = new Set<string>()
        for (const n of news) {
          const existing = n.idempotencyKey === null ? undefined : byIdempotencyKey.get(n.idempotencyKey)
          const prior = existing !== undefined ? tasks.get(existing) : tasks.get(n.id)
          const dupInCall = creating.has(n.id) || (n.idempotencyKey !== null && keysSeen.has(n.idempotencyKey))
          if (prior !== undefined) {
            results.push(inserted(prior, false))
          } else if (dupInCall) {
            results.push(undefined)
          } else {
            creating.set(n.id, n)
            if (n.idempotencyKey !== null) keysSeen.add(n.idempotencyKey)
            results.push(undefined)
          }
        }
        for (const n of creating.values()) {
          for (const dep of n.dependsOn) {
            if (!tasks.has(dep) && !creating.has(dep)) {
              return Effect.fail(new InvalidDependency({ taskId: n.id, message: `task ${n.id} depends on ${dep}, which does not exist` }))
            }
          }
        }
        for (const n of creating.values()) {
          const task = new Task({
            id: n.id,
            type: n.type,
            payload: n.payload,
            priority: n.priority,
            status: n.status,
            attempt: 0,
            retry: n.retry,
            timeoutMs: n.timeoutMs,
            runAt: n.runAt,
            rank: n.rank,
            seq: ++seq,
            key: n.key,
            idempotencyKey: n.idempotencyKey,
            createdAt: n.createdAt,
            updatedAt: n.createdAt,
            startedAt: null,
            finishedAt: null,
            lease: null,
            result: null,
            errors: [],
            progress: 0,
            description: null,
            dependsOn: n.dependsOn,
            pendingDeps: 0,
            resources: n.resources,
            traceParent: n.traceParent
          }, { disableValidation: true })
          tasks.set(task.id, task)
          if (n.idempotencyKey !== null) byIdempotencyKey.set(n.idempotencyKey, task.id)
          for (const dep of n.dependsOn) {
            let set = dependents.get(dep)
            if (set === undefined) dependents.set(dep, set = new Set())
            set.add(task.id)
          }
        }
        // Dependencies are counted once every new row exists (they may refer to each other).
        const failedRoots: Array<TaskId> = []
        for (const n of creating.values()) {
          if (n.dependsOn.length === 0) continue
          const task = tasks.get(n.id)!
          const unique = [...new Set(n.dependsOn)]
          const pendingDeps = unique.filter((d) => tasks.get(d)?.status !== "completed").length
          const dead = unique.find((d) => {
            const s = tasks.get(d)?.status
            return s === "failed" || s === "cancelled"
          })
          if (dead !== undefined) {
            update(task, {
              pendingDeps,
              status: "failed",
              finishedAt: n.createdAt,
              errors: [new AttemptError({
                attempt: 0,
                at: n.createdAt,
                error: new DependencyFailed({ dependency: dead, message: `dependency ${dead} did not complete` })
              })]
            })
            failedRoots.push(n.id)
          } else {
            update(task, { pendingDeps, status: pendingDeps > 0 ? "blocked" : task.status })
          }
        }
        failDependents(failedRoots, news[0]?.createdAt ?? 0)
        // The limit counts what is unfinished once the insert is in (as SQLite does, inside its
        // transaction); past it, the insert is undone.
        if (options?.maxActive !== undefined && creating.size > 0) {
          let active = 0
          for (const t of tasks.values()) if (isActive(t)) active++
          if (active > options.maxActive) {
            for (const n of creating.values()) forget(tasks.get(n.id)!)
            return Effect.fail(new QueueFull({
              limit: options.maxActive,
              message: `submitting ${creating.size} task(s) would make ${active} unfinished tasks, over the queue's limit of ${options.maxActive}; nothing was stored`
            }))
          }
        }
        return Effect.succeed(news.map((n, i) => {
          const r = results[i]
          if (r !== undefined) return r
          const created = creating.get(n.id) === n
          const key = n.idempotencyKey === null ? undefined : byIdempotencyKey.get(n.idempotencyKey)
          return inserted(tasks.get(created ? n.id : key ?? n.id)!, created)
        }))
      }),
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
    ready: (limit, excludeTypes) =>
      Effect.sync(() => {
        const heads = keyHeadSeqs()
        const out: Array<ReadyRef> = []
        for (const t of tasks.values()) {
          if (t.status !== "pending" || excludeTypes?.includes(t.type) || !isKeyHead(t, heads)) continue
          out.push(refOf(t))
        }
        return out.sort(Rank.compare).slice(0, limit)
      }),
    keyHeads: (keys) =>
      Effect.sync(() => {
        const heads = keyHeadSeqs()
        const out: Array<ReadyRef> = []
        for (const t of tasks.values()) {
          if (t.key !== null && keys.includes(t.key) && t.status === "pending" && isKeyHead(t, heads)) out.push(refOf(t))
        }
        return out
      }),
    claim: (ids, lease) =>
      Effect.sync(() => {
        const heads = keyHeadSeqs()
        const out: Array<Claimed> = []
        for (const id of ids) {
          const task = tasks.get(id)
          if (!legal(task, "claim") || !isKeyHead(task, heads)) continue
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
            key: next.key,
            token: lease.token,
            traceParent: next.traceParent
          })
        }
        return out
      }),
    complete: (items, now) =>
      Effect.sync(() => {
        const ids = items.flatMap((item) => {
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
        return applied(ids, unblockDependents(ids, now))
      }),
    fail: (items, now) =>
      Effect.sync(() => {
        const ids = items.flatMap((item) => {
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
        return applied(ids, failDependents(ids.filter((id) => tasks.get(id)?.status === "failed"), now))
      }),
    cancel: (ids, now) =>
      Effect.sync(() => {
        const done = ids.flatMap((id) => {
          const task = tasks.get(id)
          if (!legal(task, "cancel")) return []
          return [changeOf(update(task, { status: Transition.target("cancel"), lease: null, finishedAt: now, updatedAt: now }))]
        })
        return changeSet(done, failDependents(done.map((c) => c.id), now))
      }),
    pause: (ids, now) =>
      Effect.sync(() => {
        const done = ids.flatMap((id) => {
          const task = tasks.get(id)
          if (!legal(task, "pause")) return []
          return [changeOf(update(task, { status: Transition.target("pause"), updatedAt: now }))]
        })
        return changeSet(done, [])
      }),
    resume: (ids, now) =>
      Effect.sync(() => {
        const done = ids.flatMap((id) => {
          const task = tasks.get(id)
          if (!legal(task, "resume")) return []
          const event = task.pendingDeps > 0 ? "resumeBlocked" : task.runAt > now ? "resumeDelayed" : "resume"
          return [changeOf(update(task, { status: Transition.target(event), runAt: Math.max(task.runAt, now), updatedAt: now }))]
        })
        return changeSet(done, [])
      }),
    retry: (ids, now, rankOf) =>
      Effect.sync(() => {
        const done = ids.flatMap((id) => {
          const task = tasks.get(id)
          if (!legal(task, "manualRetry")) return []
          const event = task.pendingDeps > 0 ? "manualRetryBlocked" : "manualRetry"
          return [changeOf(update(task, {
            status: Transition.target(event),
            attempt: 0,
            runAt: now,
            rank: rankOf(task.priority),
            finishedAt: null,
            lease: null,
            updatedAt: now
          }))]
        })
        return changeSet(done, [])
      }),
    remove: (ids) =>
      Effect.sync(() =>
        ids.flatMap((id) => {
          const task = tasks.get(id)
          if (task === undefined || !TaskStatus.isFinal(task.status)) return []
          forget(task)
          return [id]
        })
      ),
    purge: (before, limit) =>
      Effect.sync(() => {
        let n = 0
        for (const task of [...tasks.values()]) {
          if (n >= limit) break
          if (TaskStatus.isFinal(task.status) && task.finishedAt !== null && task.finishedAt < before) {
            forget(task)
            n++
          }
        }
        return n
      }),
    extendLeases: (items, expiresAt) =>
      Effect.sync(() =>
        items.flatMap((item) => {
          const task = tasks.get(item.id)
          if (task?.status !== "running" || !holds(task, item.token)) return []
          update(task, { lease: new Lease({ ...task.lease!, expiresAt }) })
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
    leaseOwners: Effect.sync(() => {
      const owners = new Set<string>()
      for (const task of tasks.values()) {
        if (legal(task, "release") && task.lease !== null) owners.add(task.lease.owner)
      }
      return [...owners]
    }),
    recoverOwners: (owners, now) => recoverWhere(now, (lease) => owners.includes(lease.owner)),
    recoverExpired: (now) => recoverWhere(now, (lease) => lease.expiresAt < now),
    counts: Effect.sync(() => {
      const counts = Object.fromEntries(TaskStatus.all.map((s) => [s, 0])) as Record<TaskStatus.TaskStatus, number>
      for (const task of tasks.values()) counts[task.status]++
      return counts
    }),
    countRows: Effect.sync(() => {
      const rows = new Map<string, CountRow>()
      for (const t of tasks.values()) {
        const k = `${t.status}\u0000${t.type}\u0000${t.priority}`
        const row = rows.get(k)
        rows.set(k, { status: t.status, type: t.type, priority: t.priority, count: (row?.count ?? 0) + 1 })
      }
      return [...rows.values()]
    }),
    oldestReadyAt: (excludeTypes = []) => Effect.sync(() => {
      let min: number | undefined
      for (const t of tasks.values()) {
        if (t.status === "pending" && !excludeTypes.includes(t.type) && (min === undefined || t.runAt < min)) min = t.runAt
      }
      return Option.fromNullable(min)
    }),
    appendLogs: (lines, cap) =>
      Effect.sync(() => {
        const stored: Array<Log> = []
        for (const line of lines) {
          const id = line.taskId as TaskId
          if (!tasks.has(id)) continue
          let list = logs.get(id)
          if (list === undefined) logs.set(id, list = [])
          if (list.some((l) => l.attempt === line.attempt && l.n === line.n)) continue
          if (list.length < cap) {
            list.push(line)
            stored.push(line)
          } else if (list.length === cap) {
            const marker: Log = { ...line, level: "warn", message: truncationMarker(cap) }
            list.push(marker)
            stored.push(marker)
          }
        }
        return stored
      }),
    logs: (id) =>
      Effect.sync(() => [...(logs.get(id) ?? [])].sort((a, b) => (a.attempt - b.attempt) || (a.n - b.n))),
    setProgress: (items) =>
      Effect.sync(() => {
        for (const item of items) {
          const task = tasks.get(item.id)
          if (task?.status === "running") update(task, { progress: item.percent, description: item.description })
        }
      }),
    pauses: Effect.sync(() => ({ queue: queuePaused, types: [...pausedTypes].sort() })),
    setPaused: (scope, paused) =>
      Effect.sync(() => {
        if (scope.type === undefined) queuePaused = paused
        else if (paused) pausedTypes.add(scope.type)
        else pausedTypes.delete(scope.type)
      })
  })

  function forget(task: Task) {
    tasks.delete(task.id)
    logs.delete(task.id)
    dependents.delete(task.id)
    for (const dep of task.dependsOn) dependents.get(dep)?.delete(task.id)
    if (task.idempotencyKey !== null && byIdempotencyKey.get(task.idempotencyKey) === task.id) {
      byIdempotencyKey.delete(task.idempotencyKey)
    }
  }

  return store
})

/** The in-memory store (unit tests and TroupeTest only). */
export const layerMemory: Layer.Layer<TaskStore> = Layer.effect(TaskStore, makeMemory)
