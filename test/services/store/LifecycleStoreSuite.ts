import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Log } from "../../../src/domain/Activity.js"
import { AttemptError, TaskDefect } from "../../../src/domain/TaskErrors.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import type { TaskStatus } from "../../../src/domain/TaskStatus.js"
import { TaskStore, truncationMarker } from "../../../src/services/store/TaskStore.js"
import { newTask } from "./TaskStoreSuite.js"

const id = (n: number) => TaskId.unsafeMake(`task-${n}`)
const lease = (token: string, now = 2000) => ({ owner: "node-a", token, expiresAt: now + 30_000, now })
const deps = (...ns: Array<number>) => ({ dependsOn: ns.map(id) })
const log = (task: number, n: number, attempt = 1): Log => ({
  _tag: "Log",
  taskId: `task-${task}`,
  attempt,
  n,
  level: "info",
  message: `line ${n}`,
  at: 2000 + n
})

const newError = (attempt: number) =>
  new AttemptError({ attempt, at: 3000, error: new TaskDefect({ reason: "defect", message: "boom" }) })

const statuses = (ns: ReadonlyArray<number>) =>
  Effect.flatMap(TaskStore, (store) => Effect.forEach(ns, (n) => Effect.map(store.get(id(n)), (t) => t.status)))

/** Runs one attempt of each task to completion. */
const completeAll = (ns: ReadonlyArray<number>, now: number) =>
  Effect.gen(function*() {
    const store = yield* TaskStore
    const token = `c${now}`
    yield* store.claim(ns.map(id), lease(token, now))
    return yield* store.complete(ns.map((n) => ({ id: id(n), token, result: null })), now)
  })

/** The lifecycle part of the TaskStore contract (dependencies, control, logs, limits). */
export const lifecycleSuite = (name: string, layer: Layer.Layer<TaskStore, unknown>) =>
  describe(`TaskStore lifecycle contract: ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, TaskStore>) =>
      it.effect(title, () => Effect.provide(body, layer))

    test("dependencies: blocked until every dependency completes; unblocking commits with the completion", Effect.gen(function*() {
      const store = yield* TaskStore
      // 1 ← 2 ← 3, and 3 also on 1 (fan-in); 4 on 1 with a run-at ahead; inserted in one call.
      const inserted = yield* store.insert([
        newTask(1),
        newTask(2, deps(1)),
        newTask(3, deps(1, 2)),
        newTask(4, { ...deps(1), status: "delayed", runAt: 50_000 })
      ])
      expect(inserted.map((t) => t.status)).toStrictEqual(["pending", "blocked", "blocked", "blocked"])
      expect((yield* store.get(id(3))).pendingDeps).toBe(2)
      expect((yield* store.ready(10)).map((r) => r.id)).toStrictEqual([id(1)])
      const first = yield* completeAll([1], 3000)
      expect(first.ids).toStrictEqual([id(1)])
      expect(first.changes.map((c) => [c.id, c.status]).sort()).toStrictEqual([[id(2), "pending"], [id(4), "delayed"]])
      expect(yield* statuses([2, 3, 4])).toStrictEqual(["pending", "blocked", "delayed"])
      const second = yield* completeAll([2], 4000)
      expect(second.changes.map((c) => [c.id, c.status])).toStrictEqual([[id(3), "pending"]])
      expect((yield* store.get(id(3))).dependsOn).toStrictEqual([id(1), id(2)])
    }))

    test("a failed or cancelled dependency fails its dependents transitively with DependencyFailed", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2, deps(1)), newTask(3, deps(2)), newTask(4), newTask(5, deps(4))])
      yield* store.claim([id(1)], lease("t"))
      const failed = yield* store.fail([{ id: id(1), token: "t", error: newError(1), next: { _tag: "Fail" } }], 3000)
      expect(failed.ids).toStrictEqual([id(1)])
      expect(failed.changes.map((c) => [c.id, c.status]).sort()).toStrictEqual([[id(2), "failed"], [id(3), "failed"]])
      const three = yield* store.get(id(3))
      expect(three.errors.map((e) => [e.error._tag, e.error._tag === "DependencyFailed" ? e.error.dependency : ""]))
        .toStrictEqual([["DependencyFailed", "task-2"]])
      expect(three.finishedAt).toBe(3000)
      const cancelled = yield* store.cancel([id(4)], 3100)
      expect(cancelled.changes.map((c) => [c.id, c.status])).toStrictEqual([[id(4), "cancelled"], [id(5), "failed"]])
      // A new dependent of a task that already failed fails at once.
      const [late] = yield* store.insert([newTask(6, deps(1))])
      expect(late!.status).toBe("failed")
      expect((yield* store.get(id(6))).errors[0]?.error._tag).toBe("DependencyFailed")
    }))

    test("an unknown dependency is rejected and nothing of the insert is stored", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1)])
      const result = yield* Effect.either(store.insert([newTask(2), newTask(3, { dependsOn: [TaskId.unsafeMake("nope")] })]))
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidDependency")
      expect((yield* store.list({ limit: 10 })).map((t) => t.id)).toStrictEqual([id(1)])
    }))

    test("cancel: waiting or running tasks end cancelled; a cancelled attempt cannot complete; final tasks stay", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2), newTask(3, { status: "delayed", runAt: 9000 })])
      yield* store.claim([id(2)], lease("t"))
      const done = yield* store.cancel([id(1), id(2), id(3)], 2500)
      expect([...done.ids].sort()).toStrictEqual([id(1), id(2), id(3)])
      const two = yield* store.get(id(2))
      expect([two.status, two.lease, two.finishedAt]).toStrictEqual(["cancelled", null, 2500])
      expect((yield* store.complete([{ id: id(2), token: "t", result: null }], 2600)).ids).toStrictEqual([])
      expect((yield* store.cancel([id(2)], 2700)).ids).toStrictEqual([])
    }))

    test("pause keeps a task's place; resume puts it where it belongs now", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2), newTask(3, { status: "delayed", runAt: 9000 }), newTask(4), newTask(5, deps(4))])
      const before = yield* store.get(id(1))
      expect((yield* store.pause([id(1), id(3), id(5)], 2100)).ids.length).toBe(3)
      expect((yield* store.ready(10)).map((r) => r.id)).toStrictEqual([id(2), id(4)])
      expect(yield* store.nextWakeAt).toStrictEqual(Option.none())
      const resumed = yield* store.resume([id(1), id(3), id(5), id(2)], 2200)
      expect(resumed.changes.map((c) => [c.id, c.status])).toStrictEqual([[id(1), "pending"], [id(3), "delayed"], [id(5), "blocked"]])
      const after = yield* store.get(id(1))
      expect([after.rank, after.seq]).toStrictEqual([before.rank, before.seq])
      expect((yield* store.ready(10)).map((r) => r.id)).toStrictEqual([id(1), id(2), id(4)])
      // A running task cannot be paused.
      yield* store.claim([id(2)], lease("t"))
      expect((yield* store.pause([id(2)], 2300)).ids).toStrictEqual([])
    }))

    test("manual retry gives a failed task a fresh attempt budget and keeps its errors", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1)])
      yield* store.claim([id(1)], lease("t"))
      yield* store.fail([{ id: id(1), token: "t", error: newError(1), next: { _tag: "Fail" } }], 3000)
      const retried = yield* store.retry([id(1)], 4000, (p) => 4000 - p)
      expect(retried.changes.map((c) => [c.id, c.status, c.rank])).toStrictEqual([[id(1), "pending", 3990]])
      const task = yield* store.get(id(1))
      expect([task.attempt, task.finishedAt, task.errors.length]).toStrictEqual([0, null, 1])
      expect((yield* store.retry([id(1)], 4100, (p) => p)).ids).toStrictEqual([])
    }))

    test("remove deletes only final tasks, with their logs; purge by finish time", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2), newTask(3)])
      yield* completeAll([1], 3000)
      yield* completeAll([2], 5000)
      yield* store.appendLogs([log(1, 1)], 10)
      expect(yield* store.remove([id(1), id(3)])).toStrictEqual([id(1)])
      expect(yield* store.logs(id(1))).toStrictEqual([])
      expect(Either.isLeft(yield* Effect.either(store.get(id(1))))).toBe(true)
      expect(yield* store.purge(4999, 100)).toBe(0)
      expect(yield* store.purge(5001, 100)).toBe(1)
      expect((yield* store.list({ limit: 10 })).map((t) => t.id)).toStrictEqual([id(3)])
    }))

    test("maxActive: an insert past the limit fails with QueueFull and stores nothing; duplicates do not count", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2)], { maxActive: 3 })
      const full = yield* Effect.either(store.insert([newTask(3), newTask(4)], { maxActive: 3 }))
      expect(Either.isLeft(full) && full.left._tag).toBe("QueueFull")
      expect((yield* store.list({ limit: 10 })).length).toBe(2)
      const again = yield* store.insert([newTask(1), newTask(3)], { maxActive: 3 })
      expect(again.map((t) => t.created)).toStrictEqual([false, true])
      // Finished tasks do not count.
      yield* completeAll([1, 2], 3000)
      yield* store.insert([newTask(5), newTask(6)], { maxActive: 3 })
    }))

    test("actor keys: only the oldest unfinished task of a key is ready or claimable", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([
        newTask(1, { key: "a" }),
        newTask(2, { key: "a" }),
        newTask(3, { key: "b" }),
        newTask(4)
      ])
      expect((yield* store.ready(10)).map((r) => r.id).sort()).toStrictEqual([id(1), id(3), id(4)])
      expect(yield* store.claim([id(2)], lease("x"))).toStrictEqual([])
      yield* store.claim([id(1)], lease("t"))
      expect((yield* store.ready(10)).map((r) => r.id).sort()).toStrictEqual([id(3), id(4)])
      expect(yield* store.keyHeads(["a"])).toStrictEqual([])
      yield* store.complete([{ id: id(1), token: "t", result: null }], 3000)
      expect((yield* store.keyHeads(["a", "b"])).map((r) => r.id).sort()).toStrictEqual([id(2), id(3)])
      expect((yield* store.ready(10, ["echo"])).map((r) => r.id)).toStrictEqual([])
    }))

    test("a retried older task of a key waits while a newer one of the key runs", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1, { key: "k" }), newTask(2, { key: "k" })])
      yield* store.claim([id(1)], lease("t1"))
      yield* store.fail([{ id: id(1), token: "t1", error: newError(1), next: { _tag: "Fail" } }], 3000)
      expect((yield* store.claim([id(2)], lease("t2", 3100))).map((c) => c.id)).toStrictEqual([id(2)])
      yield* store.retry([id(1)], 3200, (p) => p)
      expect(yield* store.ready(10)).toStrictEqual([])
      expect(yield* store.claim([id(1)], lease("t3", 3300))).toStrictEqual([])
      yield* store.complete([{ id: id(2), token: "t2", result: null }], 3400)
      expect((yield* store.ready(10)).map((r) => r.id)).toStrictEqual([id(1)])
    }))

    test("an insert reports the status its dependencies left it in, cascades included; the limit counts what stays unfinished", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1)])
      yield* store.cancel([id(1)], 2100)
      const inserted = yield* store.insert([newTask(3, deps(2)), newTask(2, deps(1))])
      expect(inserted.map((t) => [t.id, t.status])).toStrictEqual([[id(3), "failed"], [id(2), "failed"]])
      // Both new tasks fail at once: they do not count toward the limit.
      yield* store.insert([newTask(4, deps(1)), newTask(5)], { maxActive: 1 })
      expect((yield* store.get(id(5))).status).toBe("pending")
    }))

    test("logs: kept in order up to the cap, then one marker; progress only for running tasks", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2)])
      const stored = yield* store.appendLogs([log(1, 1), log(1, 2), log(2, 1), log(1, 3), log(1, 4)], 2)
      expect(stored.map((l) => [l.taskId, l.n, l.message])).toStrictEqual([
        ["task-1", 1, "line 1"],
        ["task-1", 2, "line 2"],
        ["task-2", 1, "line 1"],
        ["task-1", 3, truncationMarker(2)]
      ])
      expect(yield* store.appendLogs([log(1, 5)], 2)).toStrictEqual([])
      expect((yield* store.logs(id(1))).map((l) => l.message)).toStrictEqual(["line 1", "line 2", truncationMarker(2)])
      yield* store.setProgress([{ id: id(1), percent: 40, description: "half" }])
      expect((yield* store.get(id(1))).progress).toBe(0)
      yield* store.claim([id(1)], lease("t"))
      yield* store.setProgress([{ id: id(1), percent: 40, description: "half" }])
      const task = yield* store.get(id(1))
      expect([task.progress, task.description]).toStrictEqual([40, "half"])
    }))

    test("pause gates, counts by status/type/priority, and the oldest ready task", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.setPaused({}, true, 1)
      yield* store.setPaused({ type: "b" }, true, 1)
      yield* store.setPaused({ type: "a" }, true, 1)
      yield* store.setPaused({ type: "b" }, false, 1)
      expect(yield* store.pauses).toStrictEqual({ queue: true, types: ["a"] })
      yield* store.setPaused({}, false, 1)
      expect((yield* store.pauses).queue).toBe(false)
      yield* store.insert([newTask(1, { runAt: 700 }), newTask(2, { type: "b", priority: 20 }), newTask(3, { status: "delayed", runAt: 100 })])
      expect(yield* store.oldestReadyAt()).toStrictEqual(Option.some(700))
      expect(yield* store.oldestReadyAt(["echo"])).toStrictEqual(Option.some(1000))
      expect(yield* store.oldestReadyAt(["echo", "b"])).toStrictEqual(Option.none())
      const rows = [...(yield* store.countRows)].map((r) => [r.status, r.type, r.priority, r.count] as const)
      expect(rows.sort()).toStrictEqual([
        ["delayed", "echo", 10, 1],
        ["pending", "b", 20, 1],
        ["pending", "echo", 10, 1]
      ] satisfies Array<readonly [TaskStatus, string, number, number]>)
    }))
    test("the counts the store keeps equal a count of its tasks after every kind of change, and after folding", Effect.gen(function*() {
      const store = yield* TaskStore
      // What the tasks say, counted here, against what the store keeps.
      const counted = Effect.map(store.list({ limit: 1000 }), (tasks) => {
        const by = new Map<string, number>()
        for (const t of tasks) by.set(`${t.status}/${t.type}/${t.priority}`, (by.get(`${t.status}/${t.type}/${t.priority}`) ?? 0) + 1)
        return [...by].sort()
      })
      const kept = Effect.map(store.countRows, (rows) => rows.map((r) => [`${r.status}/${r.type}/${r.priority}`, r.count] as const).sort())
      const same = Effect.gen(function*() {
        expect(yield* kept).toStrictEqual(yield* counted)
      })
      yield* store.insert([newTask(1), newTask(2, { type: "b", priority: 20 }), newTask(3, { status: "delayed", runAt: 100 }), newTask(4, deps(1)), newTask(5), newTask(6)])
      yield* same
      yield* store.claim([id(1), id(2), id(5), id(6)], lease("t"))
      yield* same
      // A retry that lowers the priority, a final failure (its dependent fails too), a completion, a cancel.
      yield* store.fail([{ id: id(2), token: "t", error: newError(1), next: { _tag: "Retry", runAt: 5000, rank: 5000, priority: 15 } }], 3000)
      yield* store.fail([{ id: id(1), token: "t", error: newError(1), next: { _tag: "Fail" } }], 3000)
      yield* store.complete([{ id: id(5), token: "t", result: null }], 3000)
      yield* store.cancel([id(6)], 3000)
      yield* same
      yield* store.wakeDue(6000)
      yield* store.retry([id(1)], 6000, (p) => 6000 - p)
      yield* same
      yield* store.remove([id(5)])
      yield* store.purge(10_000, 100)
      yield* same
      yield* store.compactCounts
      yield* same
      expect(yield* store.counts).toMatchObject({ pending: (yield* store.list({ status: ["pending"], limit: 100 })).length })
    }))
    test("a task's graph: what it depends on and what depends on it, transitively, with statuses and the edges among them", Effect.gen(function*() {
      const store = yield* TaskStore
      // 1 → 2 → 4 ← 3, 4 → 5; 6 stands apart.
      yield* store.insert([newTask(1), newTask(2, deps(1)), newTask(3), newTask(4, deps(2, 3)), newTask(5, deps(4)), newTask(6)])
      const of = (n: number) => Effect.map(store.graph(id(n)), (g) => ({
        nodes: g.nodes.map((x) => `${x.id}:${x.status}`).sort(),
        edges: g.edges.map((e) => `${e.from}>${e.to}`).sort(),
        truncated: g.truncated
      }))
      expect(yield* of(4)).toStrictEqual({
        nodes: ["task-1:pending", "task-2:blocked", "task-3:pending", "task-4:blocked", "task-5:blocked"],
        edges: ["task-1>task-2", "task-2>task-4", "task-3>task-4", "task-4>task-5"],
        truncated: false
      })
      // Downstream of 1 only: 3 feeds 4 but is no dependency of 1's, nor depends on it.
      expect((yield* of(1)).nodes).toStrictEqual(["task-1:pending", "task-2:blocked", "task-4:blocked", "task-5:blocked"])
      expect(yield* of(6)).toStrictEqual({ nodes: ["task-6:pending"], edges: [], truncated: false })
      expect((yield* store.graph(TaskId.unsafeMake("missing"))).nodes).toStrictEqual([])
      // A fan-out wider than a graph holds: cut at 200, the task itself kept, the cut said.
      yield* store.insert(Array.from({ length: 250 }, (_, i) => newTask(1000 + i, deps(6))))
      const wide = yield* store.graph(id(6))
      expect([wide.nodes.length, wide.truncated, wide.nodes.some((n) => n.id === id(6)), wide.edges.length]).toStrictEqual([200, true, true, 199])
    }))
  })
