import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RetryPolicy from "../../../src/domain/RetryPolicy.js"
import { Lease } from "../../../src/domain/Task.js"
import type { NewTask } from "../../../src/domain/Task.js"
import { AttemptError, HandlerFailure, WorkerCrashed } from "../../../src/domain/TaskErrors.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import * as TaskStatus from "../../../src/domain/TaskStatus.js"
import { TaskStore } from "../../../src/services/store/TaskStore.js"

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
  dependsOn: [],
  resources: null,
  traceParent: null,
  ...overrides
})

const id = (n: number) => TaskId.unsafeMake(`task-${n}`)
const lease = (token: string, now = 2000) => ({ owner: "node-a", token, expiresAt: now + 30_000, now })
const crash = (attempt: number) =>
  new AttemptError({ attempt, at: 3000, error: new WorkerCrashed({ workerId: 1, reason: "exit", message: "exited with code 1" }) })
const retryAt = (runAt: number, rank = runAt, priority = 10) => ({ _tag: "Retry" as const, runAt, rank, priority })

/**
 * The TaskStore contract: every implementation must pass it. Each test provides `layer`
 * afresh, so the layer must build an empty store every time it is built (for a file-backed
 * store: a new file per build).
 */
export const suite = (name: string, layer: Layer.Layer<TaskStore, unknown>) =>
  describe(`TaskStore contract: ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, TaskStore>) =>
      it.effect(title, () => Effect.provide(body, layer))

    test("endsAmong names the tasks that ended and those that do not exist, nothing of those still waiting", Effect.gen(function*() {
      const store = yield* TaskStore
      const [waiting, done, gone] = [newTask(1), newTask(2), TaskId.unsafeMake("never-stored")]
      yield* store.insert([waiting, done])
      yield* store.claim([done.id], { owner: "o", token: "t", expiresAt: 10_000, now: 1000 })
      yield* store.complete([{ id: done.id, token: "t", result: 1 }], 2000)
      const ends = yield* store.endsAmong([waiting.id, done.id, gone])
      expect(ends.ended).toStrictEqual([{ _tag: "StatusChanged", id: done.id, type: done.type, status: "completed", at: 2000 }])
      expect(ends.missing).toStrictEqual([gone])
    }))

    test("insert and get round-trip every field", Effect.gen(function*() {
      const store = yield* TaskStore
      const retry = new RetryPolicy.RetryPolicy({ ...RetryPolicy.defaults, backoff: "fixed", factor: 1.5, jitter: false, priorityDecrease: 2 })
      const input = newTask(1, {
        type: "resize",
        payload: { s: "ü ✓", n: 1.5, list: [null, true], deep: { a: { b: "c" } } },
        priority: -7,
        status: "delayed",
        retry,
        timeoutMs: 5000,
        runAt: 9000,
        rank: 9700.5,
        key: "actor-1",
        idempotencyKey: "idem-1",
        resources: { cpu: 0.5, memoryMb: 300, gpu: 1 },
        traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        createdAt: 1234
      })
      const [stored] = yield* store.insert([input])
      expect(stored).toStrictEqual({ id: input.id, type: "resize", status: "delayed", priority: -7, rank: 9700.5, seq: stored!.seq, key: input.key, resources: input.resources, created: true })
      const got = yield* store.get(input.id)
      expect({ ...got }).toStrictEqual({
        ...input,
        attempt: 0,
        seq: stored!.seq,
        updatedAt: 1234,
        startedAt: null,
        finishedAt: null,
        lease: null,
        result: null,
        errors: [],
        progress: 0,
        description: null,
        pendingDeps: 0
      })
    }))

    test("a claimed, then completed task round-trips its lease, times and result", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1)])
      yield* store.claim([id(1)], { owner: "node-b", token: "tok", expiresAt: 32_000, now: 2000 })
      const running = yield* store.get(id(1))
      expect([running.status, running.attempt, running.startedAt, running.updatedAt]).toStrictEqual(["running", 1, 2000, 2000])
      expect(running.lease).toStrictEqual(new Lease({ owner: "node-b", token: "tok", expiresAt: 32_000 }))
      yield* store.complete([{ id: id(1), token: "tok", result: { out: [1, "two"] } }], 2500)
      const done = yield* store.get(id(1))
      expect([done.status, done.result, done.lease, done.progress, done.finishedAt, done.updatedAt, done.startedAt])
        .toStrictEqual(["completed", { out: [1, "two"] }, null, 100, 2500, 2500, 2000])
    }))

    test("a claim hands out the submit's traceparent (null when there was none)", Effect.gen(function*() {
      const store = yield* TaskStore
      const traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
      yield* store.insert([newTask(1, { traceParent }), newTask(2)])
      const claimed = yield* store.claim([id(1), id(2)], { owner: "node-b", token: "tok", expiresAt: 32_000, now: 2000 })
      expect(claimed.map((c) => c.traceParent)).toStrictEqual([traceParent, null])
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
      expect(second).toStrictEqual({ ...first, created: false })
      const [a, b] = yield* store.insert([newTask(3, { idempotencyKey: "j" }), newTask(4, { idempotencyKey: "j" })])
      expect([a!.id, a!.created, b!.id, b!.created]).toStrictEqual(["task-3", true, "task-3", false])
      expect((yield* store.list({ limit: 10 })).map((t) => t.id)).toStrictEqual(["task-1", "task-3"])
    }))

    test("an id already present returns the existing task unchanged", Effect.gen(function*() {
      const store = yield* TaskStore
      const [first] = yield* store.insert([newTask(1)])
      const [again, repeat] = yield* store.insert([newTask(1, { type: "other", payload: "x" }), newTask(1, { type: "other" })])
      expect(again).toStrictEqual({ ...first, created: false })
      expect(repeat).toStrictEqual({ ...first, created: false })
      const [fresh, dup] = yield* store.insert([newTask(2), newTask(2, { payload: "second" })])
      expect([fresh!.created, dup!.created, dup!.seq]).toStrictEqual([true, false, fresh!.seq])
      expect((yield* store.get(id(1))).type).toBe("echo")
      expect((yield* store.get(id(2))).payload).toStrictEqual(newTask(2).payload)
    }))

    test("ready lists only pending tasks, by rank, then submission order", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([
        newTask(1, { rank: 50 }),
        newTask(2, { rank: 10 }),
        newTask(3, { rank: 50 }),
        newTask(4, { rank: 5, status: "delayed" }),
        newTask(5, { rank: -1 }),
        newTask(6, { rank: 40.5 })
      ])
      yield* store.claim([id(5)], lease("t"))
      const ready = yield* store.ready(10)
      expect(ready.map((r) => r.id)).toStrictEqual(["task-2", "task-6", "task-1", "task-3"])
      expect(ready[1]).toStrictEqual({ id: "task-6", type: "echo", priority: 10, rank: 40.5, seq: ready[1]!.seq, key: null, resources: null })
      expect((yield* store.ready(1)).map((r) => r.id)).toStrictEqual(["task-2"])
    }))

    test("claim sets the lease and counts the attempt, once", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2), newTask(3, { status: "delayed" })])
      const claimed = yield* store.claim([id(2), TaskId.unsafeMake("missing"), id(3), id(1)], lease("t1"))
      expect(claimed.map((c) => [c.id, c.attempt, c.token])).toStrictEqual([["task-2", 1, "t1"], ["task-1", 1, "t1"]])
      expect(claimed[0]).toStrictEqual({
        id: "task-2", type: "echo", payload: newTask(2).payload, priority: 10, attempt: 1, retry: RetryPolicy.defaults,
        timeoutMs: null, rank: 0, createdAt: 1000, runAt: 1000, key: null, token: "t1", traceParent: null
      })
      expect(yield* store.claim([id(1)], lease("t2"))).toStrictEqual([])
      yield* store.insert([newTask(4)])
      expect((yield* store.claim([id(4), id(4)], lease("t3"))).map((c) => [c.id, c.attempt])).toStrictEqual([["task-4", 1]])
      const task = yield* store.get(id(1))
      expect([task.status, task.lease?.token, task.startedAt]).toStrictEqual(["running", "t1", 2000])
    }))

    test("a claim takes of a limited type only what its limit leaves, counting every owner's attempts, best first", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([
        ...[1, 2, 3, 4, 5, 6].map((n) => newTask(n, { type: "limited", rank: 100 - n })),
        newTask(7), newTask(8)
      ])
      // Another node runs two of them.
      yield* store.claim([id(1), id(2)], { ...lease("other"), owner: "node-b" })
      const limits = new Map([["limited", 3]])
      const claimed = yield* store.claim([id(3), id(4), id(7), id(5), id(6), id(8)], { ...lease("mine"), limits })
      // One place was left: the best of the four (task-6 has the lowest rank); the others pass.
      expect(claimed.map((c) => c.id)).toStrictEqual(["task-7", "task-6", "task-8"])
      expect(yield* store.claim([id(3), id(4), id(5)], { ...lease("again"), limits })).toStrictEqual([])
      // A place opens when one ends.
      yield* store.complete([{ id: id(1), token: "other", result: null }], 3000)
      expect((yield* store.claim([id(3), id(4), id(5)], { ...lease("later"), limits })).map((c) => c.id)).toStrictEqual(["task-5"])
    }))

    test("a claim takes of a rate-limited bucket only what its allowance leaves, best first, and the store keeps the starts", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([
        ...[1, 2, 3, 4, 5].map((n) => newTask(n, { type: "api", rank: 100 - n })),
        newTask(6), newTask(7)
      ])
      const perSecond = { limit: 3, perMs: 1000, byKey: false }
      const rates = new Map([["api", perSecond]])
      // Three of five; the unlimited tasks pass.
      const first = yield* store.claim([id(1), id(2), id(6), id(3), id(4), id(5), id(7)], { ...lease("a", 2000), rates })
      expect(first.map((c) => c.id)).toStrictEqual(["task-6", "task-3", "task-4", "task-5", "task-7"])
      expect(yield* store.claim([id(1), id(2)], { ...lease("b", 2500), rates })).toStrictEqual([])
      expect(yield* store.rateBuckets({ buckets: ["api"] })).toStrictEqual([
        { bucket: "api", type: "api", rateKey: null, limit: perSecond, starts: [[2000, 3]] }
      ])
      expect((yield* store.rateBuckets({ busyAt: 2999, limit: 10 })).map((b) => b.bucket)).toStrictEqual(["api"])
      expect(yield* store.rateBuckets({ busyAt: 3000, limit: 10 })).toStrictEqual([])
      // A second later the allowance is whole again.
      expect((yield* store.claim([id(1), id(2)], { ...lease("c", 3000), rates })).map((c) => c.id)).toStrictEqual(["task-1", "task-2"])
      // Retention forgets a bucket once it is idle (no row: the whole allowance, as before).
      yield* store.purge(3999, 100)
      expect((yield* store.rateBuckets({ buckets: ["api"] })).length).toBe(1)
      yield* store.purge(4001, 100)
      expect(yield* store.rateBuckets({ buckets: ["api"] })).toStrictEqual([])
    }))

    test("a rate limit per key: each rate key's tasks take from their own allowance, and the type's concurrency limit still holds", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([
        ...[1, 2, 3].map((n) => newTask(n, { type: "api", rateKey: "acct-a", rank: n })),
        ...[4, 5, 6].map((n) => newTask(n, { type: "api", rateKey: "acct-b", rank: n })),
        newTask(7, { type: "api", rank: 7 })
      ])
      const perKey = { limit: 2, perMs: 1000, byKey: true }
      const rates = new Map([["api/acct-a", perKey], ["api/acct-b", perKey], ["api/", perKey]])
      const claimed = yield* store.claim([1, 2, 3, 4, 5, 6, 7].map(id), { ...lease("a"), rates, limits: new Map([["api", 5]]) })
      // Two of a's, two of b's, and the one without a key in its own bucket: five, the type's limit.
      expect(claimed.map((c) => c.id).sort()).toStrictEqual(["task-1", "task-2", "task-4", "task-5", "task-7"])
      expect((yield* store.get(id(1))).rateKey).toBe("acct-a")
      expect((yield* store.get(id(7))).rateKey).toBeUndefined()
      expect((yield* store.ready(10)).map((r) => [r.id, r.rateKey])).toStrictEqual([["task-3", "acct-a"], ["task-6", "acct-b"]])
      // A spent key's tasks can be left out of a ready page, its type's others kept.
      expect((yield* store.ready(10, [], ["api/acct-a"])).map((r) => r.id)).toStrictEqual(["task-6"])
      expect((yield* store.rateBuckets({ busyAt: 2000, limit: 10 })).map((b) => [b.bucket, b.rateKey, b.starts])).toStrictEqual([
        ["api/", null, [[2000, 1]]],
        ["api/acct-a", "acct-a", [[2000, 2]]],
        ["api/acct-b", "acct-b", [[2000, 2]]]
      ])
    }))

    test("a claim hands a task its dependencies' results, in the order of its dependsOn", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2, { type: "other" })])
      yield* store.claim([id(1), id(2)], lease("t"))
      yield* store.complete([{ id: id(1), token: "t", result: { words: 4 } }, { id: id(2), token: "t", result: "two" }], 3000)
      yield* store.insert([newTask(3, { dependsOn: [id(2), id(1)] }), newTask(4)])
      const claimed = yield* store.claim([id(3), id(4)], lease("u", 4000))
      expect(claimed.map((c) => [c.id, c.inputs])).toStrictEqual([
        ["task-3", [{ id: "task-2", type: "other", result: "two" }, { id: "task-1", type: "echo", result: { words: 4 } }]],
        ["task-4", undefined]
      ])
      // A dependency deleted since it completed: named as missing, not silently left out.
      yield* store.insert([newTask(5, { dependsOn: [id(1), id(2)] })])
      yield* store.remove([id(1)])
      const [five] = yield* store.claim([id(5)], lease("v", 5000))
      expect([five?.inputs?.map((i) => i.id), five?.missingInputs]).toStrictEqual([["task-2"], ["task-1"]])
    }))

    test("concurrent claims of one task: exactly one wins", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1)])
      const results = yield* Effect.forEach(["a", "b", "c", "d"], (token) => store.claim([id(1)], lease(token)), { concurrency: "unbounded" })
      const winners = results.flat()
      expect(winners.length).toBe(1)
      expect((yield* store.get(id(1))).lease?.token).toBe(winners[0]!.token)
    }))

    test("lease guard: a superseded attempt can neither complete nor fail its task", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1)])
      yield* store.claim([id(1)], { owner: "dead", token: "old", expiresAt: 2100, now: 2000 })
      expect((yield* store.expiredLeases(3000)).map((t) => [t.id, t.token, t.owner])).toStrictEqual([[id(1), "old", "dead"]])
      // The recovery ends the lost attempt as a failure (retry), guarded by its token.
      expect((yield* store.fail([{ id: id(1), token: "old", error: crash(1), next: retryAt(2900) }], 2950)).ids).toStrictEqual([id(1)])
      expect(yield* store.wakeDue(3000)).toBe(1)
      yield* store.claim([id(1)], lease("new", 3000))
      expect((yield* store.complete([{ id: id(1), token: "old", result: "stale" }], 3100)).ids).toStrictEqual([])
      expect((yield* store.fail([{ id: id(1), token: "old", error: crash(1), next: { _tag: "Fail" } }], 3100)).ids).toStrictEqual([])
      expect((yield* store.fail([{ id: id(1), token: "old", error: crash(1), next: retryAt(9000) }], 3100)).ids).toStrictEqual([])
      expect(yield* store.release([{ id: id(1), token: "old", countAttempt: true }], 3100)).toStrictEqual([])
      expect(yield* store.extendLeases([{ id: id(1), token: "old" }], 99_999)).toStrictEqual([])
      const task = yield* store.get(id(1))
      expect([task.status, task.attempt, task.lease, task.errors, task.updatedAt])
        .toStrictEqual(["running", 2, new Lease({ owner: "node-a", token: "new", expiresAt: 33_000 }), [crash(1)], 3000])
      expect((yield* store.complete([{ id: id(1), token: "new", result: "fresh" }], 3200)).ids).toStrictEqual([id(1)])
      expect((yield* store.get(id(1))).result).toBe("fresh")
      // A finished task takes no further transition, whatever the token.
      expect((yield* store.complete([{ id: id(1), token: "new", result: "twice" }], 3300)).ids).toStrictEqual([])
      expect((yield* store.fail([{ id: id(1), token: "new", error: crash(2), next: { _tag: "Fail" } }], 3300)).ids).toStrictEqual([])
      expect((yield* store.get(id(1))).result).toBe("fresh")
    }))

    test("a batch changes only the items whose token matches", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2), newTask(3)])
      yield* store.claim([id(1), id(2), id(3)], lease("t"))
      const done = yield* store.complete([
        { id: id(1), token: "t", result: 1 },
        { id: id(2), token: "wrong", result: 2 },
        { id: id(3), token: "t", result: 3 }
      ], 2500)
      expect([...done.ids].sort()).toStrictEqual([id(1), id(3)])
      expect((yield* store.get(id(2))).status).toBe("running")
    }))

    test("a failed attempt with a retry waits as retrying, then wakes at its run-at", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2, { status: "delayed", runAt: 7000 })])
      yield* store.claim([id(1)], lease("t1"))
      expect((yield* store.fail([{ id: id(1), token: "t1", error: crash(1), next: retryAt(5000, 4000, 9) }], 2500)).ids).toStrictEqual([id(1)])
      const waiting = yield* store.get(id(1))
      expect([waiting.status, waiting.runAt, waiting.rank, waiting.priority, waiting.lease, waiting.attempt, waiting.finishedAt, waiting.errors])
        .toStrictEqual(["retrying", 5000, 4000, 9, null, 1, null, [crash(1)]])
      expect(yield* store.ready(10)).toStrictEqual([])
      expect(yield* store.nextWakeAt).toStrictEqual(Option.some(5000))
      expect(yield* store.wakeDue(4999)).toBe(0)
      expect(yield* store.wakeDue(5000)).toBe(1)
      const woken = yield* store.get(id(1))
      expect([woken.status, woken.updatedAt]).toStrictEqual(["pending", 5000])
      expect(yield* store.nextWakeAt).toStrictEqual(Option.some(7000))
      expect(yield* store.wakeDue(8000)).toBe(1)
      expect(yield* store.nextWakeAt).toStrictEqual(Option.none())
      expect((yield* store.ready(10)).map((r) => r.id)).toStrictEqual(["task-2", "task-1"])
    }))

    test("the final failure keeps every attempt's error, in order", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1)])
      yield* store.claim([id(1)], lease("t1"))
      yield* store.fail([{ id: id(1), token: "t1", error: crash(1), next: retryAt(2000, 1) }], 2000)
      yield* store.wakeDue(2000)
      yield* store.claim([id(1)], lease("t2"))
      const typed = new AttemptError({ attempt: 2, at: 4000, error: new HandlerFailure({ error: { _tag: "Oops", detail: 1 }, message: "Oops" }) })
      expect((yield* store.fail([{ id: id(1), token: "t2", error: typed, next: { _tag: "Fail" } }], 4000)).ids).toStrictEqual([id(1)])
      const task = yield* store.get(id(1))
      expect([task.status, task.finishedAt, task.attempt, task.lease]).toStrictEqual(["failed", 4000, 2, null])
      expect(task.errors).toStrictEqual([crash(1), typed])
    }))

    test("the owners of running leases are listed; an owner's leased attempts are read with their tokens", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2), newTask(3), newTask(4), newTask(5)])
      yield* store.claim([id(1), id(2)], { owner: "gone", token: "g1", expiresAt: 99_000, now: 2000 })
      yield* store.claim([id(3)], { owner: "alive", token: "a1", expiresAt: 99_000, now: 2000 })
      yield* store.claim([id(4)], { owner: "done", token: "d1", expiresAt: 99_000, now: 2000 })
      yield* store.complete([{ id: id(4), token: "d1", result: null }], 2500)
      expect([...(yield* store.leaseOwners)].sort()).toStrictEqual(["alive", "gone"])
      const leased = yield* store.leasesOf(["gone", "nobody"])
      expect(leased.map((t) => [t.id, t.token, t.owner, t.attempt, t.type])).toStrictEqual([
        [id(1), "g1", "gone", 1, "echo"],
        [id(2), "g1", "gone", 1, "echo"]
      ])
      expect(yield* store.leasesOf([])).toStrictEqual([])
      // Reading changes nothing.
      expect((yield* store.get(id(1))).status).toBe("running")
      expect((yield* store.get(id(5))).status).toBe("pending")
      // Ended as a final failure, the attempt is counted and its stale outcome refused.
      expect((yield* store.fail(leased.map((t) => ({ id: t.id, token: t.token, error: crash(1), next: { _tag: "Fail" as const } })), 3000)).ids)
        .toHaveLength(2)
      expect(yield* store.leaseOwners).toStrictEqual(["alive"])
      expect(yield* store.leasesOf(["gone"])).toStrictEqual([])
      expect((yield* store.complete([{ id: id(1), token: "g1", result: null }], 4000)).ids).toStrictEqual([])
      const task = yield* store.get(id(1))
      expect([task.status, task.attempt, task.errors]).toStrictEqual(["failed", 1, [crash(1)]])
    }))

    test("a recovery's failure is refused when the lease was renewed after it was read", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2)])
      yield* store.claim([id(1), id(2)], { owner: "x", token: "t1", expiresAt: 2500, now: 2000 })
      const expired = yield* store.expiredLeases(3000)
      expect(expired.map((t) => t.id)).toStrictEqual([id(1), id(2)])
      // The owner was only slow: it renews task 1 before the recovery writes.
      yield* store.extendLeases([{ id: id(1), token: "t1" }], 40_000)
      const failed = yield* store.fail(
        expired.map((t) => ({ id: t.id, token: t.token, leaseExpiredBefore: 3000, error: crash(1), next: retryAt(9000) })),
        3000
      )
      expect(failed.ids).toStrictEqual([id(2)])
      expect([(yield* store.get(id(1))).status, (yield* store.get(id(2))).status]).toStrictEqual(["running", "retrying"])
    }))

    test("expired leases are read, not changed; release can give an attempt back", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert([newTask(1), newTask(2), newTask(3)])
      yield* store.claim([id(1), id(2), id(3)], { owner: "x", token: "t1", expiresAt: 2500, now: 2000 })
      expect(yield* store.extendLeases([{ id: id(2), token: "t1" }, { id: id(3), token: "t1" }], 10_000)).toHaveLength(2)
      expect((yield* store.get(id(2))).lease?.expiresAt).toBe(10_000)
      expect(yield* store.expiredLeases(2500)).toStrictEqual([])
      expect((yield* store.expiredLeases(3000)).map((t) => [t.id, t.owner, t.attempt])).toStrictEqual([[id(1), "x", 1]])
      expect((yield* store.get(id(1))).status).toBe("running")
      expect(yield* store.release([{ id: id(2), token: "t1", countAttempt: false }, { id: id(3), token: "t1", countAttempt: true }], 3000))
        .toHaveLength(2)
      const [uncounted, counted] = [yield* store.get(id(2)), yield* store.get(id(3))]
      expect([uncounted.status, uncounted.attempt, uncounted.lease]).toStrictEqual(["pending", 0, null])
      expect([counted.status, counted.attempt, counted.lease]).toStrictEqual(["pending", 1, null])
    }))

    test("list filters by status and type and pages by sequence", Effect.gen(function*() {
      const store = yield* TaskStore
      yield* store.insert(Array.from({ length: 10 }, (_, i) => newTask(i, { type: i % 2 === 0 ? "even" : "odd", status: i < 6 ? "pending" : "delayed" })))
      const evens = yield* store.list({ type: "even", limit: 100 })
      expect(evens.map((t) => t.id)).toStrictEqual(["task-0", "task-2", "task-4", "task-6", "task-8"])
      const delayed = yield* store.list({ status: ["delayed"], limit: 100 })
      expect(delayed.map((t) => t.id)).toStrictEqual(["task-6", "task-7", "task-8", "task-9"])
      const oddDelayed = yield* store.list({ status: ["delayed", "failed"], type: "odd", limit: 100 })
      expect(oddDelayed.map((t) => t.id)).toStrictEqual(["task-7", "task-9"])
      expect(yield* store.list({ status: [], limit: 100 })).toStrictEqual([])
      expect(yield* store.list({ type: "none", limit: 100 })).toStrictEqual([])
      const page1 = yield* store.list({ limit: 4 })
      const page2 = yield* store.list({ limit: 4, afterSeq: page1[3]!.seq })
      const page3 = yield* store.list({ limit: 4, afterSeq: page2[3]!.seq })
      expect([...page1, ...page2, ...page3].map((t) => t.id)).toStrictEqual(Array.from({ length: 10 }, (_, i) => `task-${i}`))
      const evenPage = yield* store.list({ type: "even", limit: 2, afterSeq: evens[1]!.seq })
      expect(evenPage.map((t) => t.id)).toStrictEqual(["task-4", "task-6"])
      // Newest first, paging back with beforeSeq; by id prefix.
      const newest = yield* store.list({ limit: 4, newestFirst: true })
      const older = yield* store.list({ limit: 4, newestFirst: true, beforeSeq: newest[3]!.seq })
      expect([...newest, ...older].map((t) => t.id)).toStrictEqual(["task-9", "task-8", "task-7", "task-6", "task-5", "task-4", "task-3", "task-2"])
      expect((yield* store.list({ limit: 2, newestFirst: true, type: "odd", status: ["pending"] })).map((t) => t.id)).toStrictEqual(["task-5", "task-3"])
      yield* store.insert([newTask(100), newTask(11)])
      expect((yield* store.list({ limit: 100, idPrefix: "task-1" })).map((t) => t.id)).toStrictEqual(["task-1", "task-100", "task-11"])
      expect(yield* store.list({ limit: 100, idPrefix: "task-x" })).toStrictEqual([])
      // By actor key, finished tasks included, with the other filters.
      yield* store.insert([newTask(200, { key: "acct-1" }), newTask(201, { key: "acct-2" }), newTask(202, { key: "acct-1", status: "delayed" })])
      yield* store.claim([id(200)], lease("k"))
      yield* store.complete([{ id: id(200), token: "k", result: null }], 2100)
      expect((yield* store.list({ limit: 100, key: "acct-1", newestFirst: true })).map((t) => t.id)).toStrictEqual(["task-202", "task-200"])
      expect((yield* store.list({ limit: 100, key: "acct-1", status: ["completed"] })).map((t) => t.id)).toStrictEqual(["task-200"])
      expect(yield* store.list({ limit: 100, key: "acct-3" })).toStrictEqual([])
    }))

    test("schedules: stored by name (a second put replaces), the next occurrence moved only from the value read, removed", Effect.gen(function*() {
      const store = yield* TaskStore
      const row = {
        name: "nightly", type: "echo", payload: JSON.stringify({ n: 1 }), cron: "0 3 * * *", everyMs: null, timezone: "Europe/Berlin",
        misfire: "once", options: JSON.stringify({ priority: "high" }), nextAt: 5000, createdAt: 1000, updatedAt: 1000
      }
      yield* store.putSchedule(row)
      yield* store.putSchedule({ ...row, name: "hourly", cron: null, everyMs: 3_600_000, timezone: null, nextAt: 7000 })
      expect((yield* store.schedules).map((r) => [r.name, r.nextAt, r.everyMs])).toStrictEqual([["hourly", 7000, 3_600_000], ["nightly", 5000, null]])
      // Two processes fire the same occurrence: one moves it.
      expect(yield* store.advanceSchedule("nightly", 5000, 9000)).toBe(true)
      expect(yield* store.advanceSchedule("nightly", 5000, 9000)).toBe(false)
      yield* store.putSchedule({ ...row, payload: JSON.stringify({ n: 2 }), nextAt: 6000, createdAt: 2000, updatedAt: 2000 })
      const [, nightly] = yield* store.schedules
      expect([nightly!.payload, nightly!.nextAt, nightly!.createdAt, nightly!.timezone]).toStrictEqual([JSON.stringify({ n: 2 }), 6000, 2000, "Europe/Berlin"])
      expect(yield* store.removeSchedule("nightly")).toBe(true)
      expect(yield* store.removeSchedule("nightly")).toBe(false)
      expect((yield* store.schedules).map((r) => r.name)).toStrictEqual(["hourly"])
    }))

    test("counts reports every status", Effect.gen(function*() {
      const store = yield* TaskStore
      const empty = yield* store.counts
      expect(Object.keys(empty).sort()).toStrictEqual([...TaskStatus.all].sort())
      expect(Object.values(empty).every((n) => n === 0)).toBe(true)
      yield* store.insert([newTask(1), newTask(2), newTask(3), newTask(4, { status: "delayed" })])
      yield* store.claim([id(1), id(2)], lease("t"))
      yield* store.complete([{ id: id(1), token: "t", result: null }], 2100)
      const counts = yield* store.counts
      expect(counts).toStrictEqual({ ...empty, pending: 1, delayed: 1, running: 1, completed: 1 })
    }))

    test("empty batches change nothing", Effect.gen(function*() {
      const store = yield* TaskStore
      expect(yield* store.insert([])).toStrictEqual([])
      expect(yield* store.claim([], lease("t"))).toStrictEqual([])
      expect((yield* store.complete([], 1)).ids).toStrictEqual([])
      expect((yield* store.fail([], 1)).ids).toStrictEqual([])
      expect(yield* store.release([], 1)).toStrictEqual([])
      expect(yield* store.extendLeases([], 1)).toStrictEqual([])
      expect(yield* store.wakeDue(1)).toBe(0)
      expect(yield* store.expiredLeases(1)).toStrictEqual([])
      expect(yield* store.leasesOf([])).toStrictEqual([])
      expect(yield* store.nextWakeAt).toStrictEqual(Option.none())
    }))
  })
