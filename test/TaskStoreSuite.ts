import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RetryPolicy from "../src/domain/RetryPolicy.js"
import type { NewTask } from "../src/domain/Task.js"
import { AttemptError, HandlerFailure, WorkerCrashed } from "../src/domain/TaskErrors.js"
import * as TaskId from "../src/domain/TaskId.js"
import { TaskStore } from "../src/services/TaskStore.js"

export const newTask = (n: number, overrides: Partial<NewTask> = {}): NewTask => ({
  id: TaskId.unsafeMake(`task-${n}`),
  type: "echo",
  payload: { n, nested: { list: [1, 2, 3] } },
  priority: 10,
  status: "pending",
  retry: RetryPolicy.defaults,
  timeoutMs: null,
  runAt: 1000,
  rank: 1000 - 10 * 100,
  key: null,
  idempotencyKey: null,
  createdAt: 1000,
  ...overrides
})

const lease = (token: string, now = 2000) => ({ owner: "node-a", token, expiresAt: now + 30_000, now })
const crash = (attempt: number) =>
  new AttemptError({ attempt, at: 3000, error: new WorkerCrashed({ workerId: 1, reason: "exit", message: "exited with code 1" }) })

/**
 * The TaskStore contract: every implementation must pass it. `makeLayer` builds a fresh,
 * empty store for each test.
 */
export const suite = (name: string, makeLayer: () => Layer.Layer<TaskStore, unknown>) =>
  describe(`TaskStore contract: ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, TaskStore>) =>
      it.effect(title, () => Effect.provide(body, makeLayer()))

    test("insert and get round-trip every field", Effect.gen(function*() {
      const store = yield* TaskStore
      const input = newTask(1, { key: "actor-1", idempotencyKey: "idem-1", timeoutMs: 5000, status: "delayed", runAt: 9000 })
      const [stored] = yield* store.insert([input])
      expect(stored).toStrictEqual({ id: input.id, type: "echo", status: "delayed", priority: 10, rank: input.rank, seq: stored!.seq, created: true })
      const got = yield* store.get(input.id)
      expect(got.seq).toBe(stored!.seq)
      expect(got.payload).toStrictEqual({ n: 1, nested: { list: [1, 2, 3] } })
      expect(got.status).toBe("delayed")
      expect(got.retry).toStrictEqual(RetryPolicy.defaults)
      expect([got.attempt, got.timeoutMs, got.runAt, got.key, got.idempotencyKey, got.lease, got.errors]).toStrictEqual(
        [0, 5000, 9000, "actor-1", "idem-1", null, []]
      )
    }))

    test("get of an unknown id is TaskNotFound", Effect.gen(function*() {
      const store = yield* TaskStore
      const error = yield* Effect.flip(store.get(TaskId.unsafeMake("nope")))
      expect(error._tag).toBe("TaskNotFound")
    }))

    test("an idempotency key already present returns the existing task", Effect.gen(function*() {
      const store = yield* TaskStore
      const [first] = yield* store.insert([newTask(1, { idempotencyKey: "k" })])
      const [second] = yield* store.insert([newTask(2, { idempotencyKey: "k" })])
      expect(second!.id).toBe(first!.id)
      expect([first!.created, second!.created]).toStrictEqual([true, false])
      expect((yield* store.list({ limit: 10 })).length).toBe(1)
    }))

    test("ready lists pending tasks by rank, then submission order", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([
        newTask(1, { rank: 50 }),
        newTask(2, { rank: 10 }),
        newTask(3, { rank: 50 }),
        newTask(4, { rank: 5, status: "delayed" })
      ])
      const ready = yield* store.ready(10)
      expect(ready.map((r) => r.id)).toStrictEqual(["task-2", "task-1", "task-3"])
      expect((yield* store.ready(1)).map((r) => r.id)).toStrictEqual(["task-2"])
    }))

    test("claim sets the lease and counts the attempt, once", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2)])
      const claimed = yield* store.claim([TaskId.unsafeMake("task-2"), TaskId.unsafeMake("task-1")], lease("t1"))
      expect(claimed.map((c) => [c.id, c.attempt, c.token])).toStrictEqual([["task-2", 1, "t1"], ["task-1", 1, "t1"]])
      const again = yield* store.claim([TaskId.unsafeMake("task-1")], lease("t2"))
      expect(again).toStrictEqual([])
      const task = yield* store.get(TaskId.unsafeMake("task-1"))
      expect(task.status).toBe("running")
      expect(task.lease?.token).toBe("t1")
      expect(task.startedAt).toBe(2000)
    }))

    test("complete stores the result and clears the lease", Effect.gen(function*() {
      const store = yield* TaskStore
      const id = TaskId.unsafeMake("task-1")
      yield* store.insert([newTask(1)])
      yield* store.claim([id], lease("t1"))
      expect(yield* store.complete([{ id, token: "t1", result: { ok: true } }], 2500)).toStrictEqual([id])
      const task = yield* store.get(id)
      expect([task.status, task.result, task.lease, task.finishedAt]).toStrictEqual(["completed", { ok: true }, null, 2500])
    }))

    test("lease guard: a superseded attempt can neither complete nor fail its task", Effect.gen(function*() {
      const store = yield* TaskStore
      const id = TaskId.unsafeMake("task-1")
      yield* store.insert([newTask(1)])
      yield* store.claim([id], { owner: "dead", token: "old", expiresAt: 2100, now: 2000 })
      expect(yield* store.recoverExpired(3000)).toStrictEqual([id])
      yield* store.claim([id], lease("new", 3000))
      expect(yield* store.complete([{ id, token: "old", result: "stale" }], 3100)).toStrictEqual([])
      expect(yield* store.fail([{ id, token: "old", error: crash(1), next: { _tag: "Fail" } }], 3100)).toStrictEqual([])
      expect(yield* store.release([{ id, token: "old", countAttempt: true }], 3100)).toStrictEqual([])
      expect(yield* store.extendLeases([{ id, token: "old" }], 99_999)).toStrictEqual([])
      const task = yield* store.get(id)
      expect([task.status, task.attempt, task.lease?.token, task.errors]).toStrictEqual(["running", 2, "new", []])
      expect(yield* store.complete([{ id, token: "new", result: "fresh" }], 3200)).toStrictEqual([id])
      expect((yield* store.get(id)).result).toBe("fresh")
    }))

    test("a failed attempt with a retry waits as retrying, then wakes at its run-at", Effect.gen(function*() {
      const store = yield* TaskStore
      const id = TaskId.unsafeMake("task-1")
      yield* store.insert([newTask(1)])
      yield* store.claim([id], lease("t1"))
      yield* store.fail([{ id, token: "t1", error: crash(1), next: { _tag: "Retry", runAt: 5000, rank: 4000, priority: 9 } }], 2500)
      const waiting = yield* store.get(id)
      expect([waiting.status, waiting.runAt, waiting.rank, waiting.priority, waiting.lease]).toStrictEqual(["retrying", 5000, 4000, 9, null])
      expect(yield* store.nextWakeAt).toStrictEqual(Option.some(5000))
      expect(yield* store.wakeDue(4999)).toBe(0)
      expect(yield* store.wakeDue(5000)).toBe(1)
      expect((yield* store.get(id)).status).toBe("pending")
      expect(yield* store.nextWakeAt).toStrictEqual(Option.none())
    }))

    test("the final failure keeps every attempt's error, in order", Effect.gen(function*() {
      const store = yield* TaskStore
      const id = TaskId.unsafeMake("task-1")
      yield* store.insert([newTask(1)])
      yield* store.claim([id], lease("t1"))
      yield* store.fail([{ id, token: "t1", error: crash(1), next: { _tag: "Retry", runAt: 2000, rank: 1, priority: 10 } }], 2000)
      yield* store.wakeDue(2000)
      yield* store.claim([id], lease("t2"))
      const typed = new AttemptError({ attempt: 2, at: 4000, error: new HandlerFailure({ error: { _tag: "Oops", detail: 1 }, message: "Oops" }) })
      yield* store.fail([{ id, token: "t2", error: typed, next: { _tag: "Fail" } }], 4000)
      const task = yield* store.get(id)
      expect(task.status).toBe("failed")
      expect(task.finishedAt).toBe(4000)
      expect(task.errors).toStrictEqual([crash(1), typed])
    }))

    test("recovering an expired lease keeps the attempt count; release can give the attempt back", Effect.gen(function*() {
      const store = yield* TaskStore
      const [a, b] = [TaskId.unsafeMake("task-1"), TaskId.unsafeMake("task-2")]
      yield* store.insert([newTask(1), newTask(2)])
      yield* store.claim([a, b], { owner: "x", token: "t1", expiresAt: 2500, now: 2000 })
      expect(yield* store.extendLeases([{ id: b, token: "t1" }], 10_000)).toStrictEqual([b])
      expect(yield* store.recoverExpired(3000)).toStrictEqual([a])
      expect((yield* store.get(a)).attempt).toBe(1)
      expect(yield* store.release([{ id: b, token: "t1", countAttempt: false }], 3000)).toStrictEqual([b])
      const released = yield* store.get(b)
      expect([released.status, released.attempt, released.lease]).toStrictEqual(["pending", 0, null])
    }))

    test("list filters by status and type and pages by sequence", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert(Array.from({ length: 10 }, (_, i) => newTask(i, { type: i % 2 === 0 ? "even" : "odd", status: i < 6 ? "pending" : "delayed" })))
      const evens = yield* store.list({ type: "even", limit: 100 })
      expect(evens.map((t) => t.id)).toStrictEqual(["task-0", "task-2", "task-4", "task-6", "task-8"])
      const delayed = yield* store.list({ status: ["delayed"], limit: 100 })
      expect(delayed.map((t) => t.id)).toStrictEqual(["task-6", "task-7", "task-8", "task-9"])
      const page1 = yield* store.list({ limit: 4 })
      const page2 = yield* store.list({ limit: 4, afterSeq: page1[3]!.seq })
      expect([...page1, ...page2].map((t) => t.id)).toStrictEqual(Array.from({ length: 8 }, (_, i) => `task-${i}`))
      const counts = yield* store.counts
      expect([counts.pending, counts.delayed, counts.running]).toStrictEqual([6, 4, 0])
    }))
  })
