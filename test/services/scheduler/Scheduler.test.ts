import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as os from "node:os"
import * as LeaseOwner from "../../../src/domain/LeaseOwner.js"
import * as RetryPolicy from "../../../src/domain/RetryPolicy.js"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import * as LeaseOwners from "../../../src/runtime/LeaseOwners.js"
import * as TroupeTest from "../../../src/runtime/TroupeTest.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import { TaskStore } from "../../../src/services/store/TaskStore.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { advance } from "../../support/clock.js"
import { newTask } from "../store/TaskStoreSuite.js"

// Handlers run in-process here (TroupeTest), so they can record into these arrays and
// TestClock reaches their sleeps.
const runs: Array<{ readonly n: number; readonly at: number; readonly attempt: number }> = []

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { attempt: Schema.Number }) {}

const Record = TaskDefinition.make("record", {
  payload: Schema.Struct({ n: Schema.Number }),
  success: Schema.Number,
  execution: "fiber"
})
const Work = TaskDefinition.make("work", {
  payload: Schema.Struct({ n: Schema.Number, ms: Schema.Number }),
  execution: "fiber"
})
const FailTwice = TaskDefinition.make("failTwice", {
  payload: Schema.Struct({ n: Schema.Number }),
  success: Schema.String,
  failure: Flaky,
  retry: { maxAttempts: 5, backoff: "exponential", initialDelay: "1 second", factor: 2, jitter: false },
  execution: "fiber"
})
const AlwaysFails = TaskDefinition.make("alwaysFails", {
  payload: Schema.Struct({ n: Schema.Number }),
  failure: Flaky,
  retry: { maxAttempts: 3, backoff: "fixed", initialDelay: "1 second", jitter: false },
  execution: "fiber"
})

/** Retries after exactly 1 s (no jitter), three attempts. */
const oneSecond = new RetryPolicy.RetryPolicy({ ...RetryPolicy.defaults, backoff: "fixed", jitter: false })

const recordRun = (n: number, attempt: number) =>
  Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => runs.push({ n, at, attempt })))

const handlers = Handlers.make(
  Record.handler(({ n }, ctx) => Effect.as(recordRun(n, ctx.attempt), n)),
  Work.handler(({ ms, n }, ctx) => Effect.zipRight(recordRun(n, ctx.attempt), Effect.sleep(Duration.millis(ms)))),
  FailTwice.handler(({ n }, ctx) =>
    Effect.zipRight(
      recordRun(n, ctx.attempt),
      ctx.attempt < 3 ? Effect.fail(new Flaky({ attempt: ctx.attempt })) : Effect.succeed(`ok after ${ctx.attempt}`)
    )
  ),
  AlwaysFails.handler(({ n }, ctx) => Effect.zipRight(recordRun(n, ctx.attempt), Effect.fail(new Flaky({ attempt: ctx.attempt }))))
)


const oneAtATime = TroupeTest.layer(handlers, { fiberConcurrency: 1 })

describe("Scheduler", () => {
  for (const mailboxCapacity of [1024, 16]) {
    it.effect(`runs by priority, highest first, FIFO within a priority (mailbox ${mailboxCapacity})`, () =>
      Effect.gen(function*() {
        runs.length = 0
        const queue = yield* TaskQueue
        // Deterministic pseudo-random priorities; n is the submission order. With a mailbox of
        // 16 the backlog comes from the store in pages, and the order must not change.
        const priorities = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 13) - 6)
        const ids = yield* queue.submitMany(priorities.map((priority, n) => ({
          definition: Record,
          payload: { n },
          options: { priority }
        })))
        yield* Effect.forEach(ids, (id) => queue.await(Record, id))
        const expected = priorities
          .map((priority, n) => ({ priority, n }))
          .sort((a, b) => b.priority - a.priority || a.n - b.n)
          .map(({ n }) => n)
        expect(runs.map((r) => r.n)).toStrictEqual(expected)
      }).pipe(Effect.provide(TroupeTest.layer(handlers, { fiberConcurrency: 1, mailboxCapacity }))))
  }

  it.effect("aging: a low task is never passed by a high task that arrives more than (P−p)·agingStep after it", () =>
    Effect.gen(function*() {
      runs.length = 0
      const queue = yield* TaskQueue
      // One task at a time, 100 ms each; high-priority tasks arrive every 50 ms, twice the
      // service rate, so without aging the low task would wait forever.
      const producer = yield* Effect.fork(Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) =>
        Effect.zipRight(
          queue.submit(Work, { n: 1000 + i, ms: 100 }, { priority: "high" }),
          Effect.sleep("50 millis")
        ), { discard: true }))
      yield* advance("200 millis")
      const low = yield* queue.submit(Work, { n: 0, ms: 100 }, { priority: "low" })
      const lowSubmittedAt = yield* Clock.currentTimeMillis
      const waiting = yield* Effect.fork(queue.await(Work, low))
      yield* advance("6 seconds")
      yield* Fiber.join(waiting)
      yield* Fiber.interrupt(producer)
      const bound = (20 - 0) * 100 // (P − p) × agingStep, with this test's 100 ms step
      const lowRun = runs.find((r) => r.n === 0)!
      // Every high task that ran after the low one arrived within the bound of it.
      const passedBy = runs.filter((r) => r.n >= 1000 && r.at > lowRun.at)
      expect(passedBy.length).toBeGreaterThan(0)
      const highArrival = (n: number) => (n - 1000) * 50
      const overtook = runs.filter((r) => r.n >= 1000 && r.at < lowRun.at && highArrival(r.n) > lowSubmittedAt + bound)
      expect(overtook).toStrictEqual([])
      // The documented bound: the work that outranked it (queued, or arriving within the
      // aging bound) drains at 100 ms a task, then it runs.
      const ahead = runs.filter((r) => r.n >= 1000 && r.at >= lowSubmittedAt && highArrival(r.n) <= lowSubmittedAt + bound)
      expect(lowRun.at - lowSubmittedAt).toBeLessThanOrEqual(ahead.length * 100)
    }).pipe(Effect.provide(TroupeTest.layer(handlers, { fiberConcurrency: 1, agingStep: Duration.millis(100) }))))

  it.effect("by default priorities keep their meaning under a backlog: critical passes normal tasks up to 10 minutes older, not older ones", () =>
    Effect.gen(function*() {
      runs.length = 0
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      yield* queue.submit(Record, { n: 1 }, { priority: "normal" })
      yield* advance("9 minutes", "10 seconds")
      yield* queue.submit(Record, { n: 2 }, { priority: "normal" })
      yield* advance("59 seconds", "1 second")
      // Ready 9 min 59 s after the first normal task: it still starts ahead of it.
      yield* queue.submit(Record, { n: 3 }, { priority: "critical" })
      yield* advance("2 seconds", "1 second")
      // Ready 10 min 1 s after the first normal task (and 1 min 1 s after the second).
      yield* queue.submit(Record, { n: 4 }, { priority: "critical" })
      yield* queue.resume({ queue: true })
      yield* advance("1 second")
      expect(runs.map((r) => r.n)).toStrictEqual([3, 1, 4, 2])
    }).pipe(Effect.provide(oneAtATime)))

  it.effect("retries with a durable exponential backoff: runs at 0 s, 1 s, 3 s, then succeeds", () =>
    Effect.gen(function*() {
      runs.length = 0
      const queue = yield* TaskQueue
      const id = yield* queue.submit(FailTwice, { n: 7 })
      const result = yield* Effect.fork(queue.await(FailTwice, id))
      yield* advance("990 millis")
      expect(runs.map((r) => r.at)).toStrictEqual([0])
      expect((yield* queue.get(id)).status).toBe("retrying")
      yield* advance("5 seconds")
      expect(yield* Fiber.join(result)).toBe("ok after 3")
      expect(runs.map((r) => [r.at, r.attempt])).toStrictEqual([[0, 1], [1000, 2], [3000, 3]])
      const task = yield* queue.get(id)
      expect(task.status).toBe("completed")
      expect(task.errors.map((e) => e.attempt)).toStrictEqual([1, 2])
    }).pipe(Effect.provide(oneAtATime)))

  it.effect("after the last attempt the task is failed, every error kept, and await fails typed", () =>
    Effect.gen(function*() {
      runs.length = 0
      const queue = yield* TaskQueue
      const id = yield* queue.submit(AlwaysFails, { n: 1 })
      const result = yield* Effect.fork(Effect.flip(queue.await(AlwaysFails, id)))
      yield* advance("5 seconds")
      const error = yield* Fiber.join(result)
      expect(error).toStrictEqual(new Flaky({ attempt: 3 }))
      const task = yield* queue.get(id)
      expect(task.status).toBe("failed")
      expect(task.attempt).toBe(3)
      expect(task.errors.map((e) => [e.attempt, e.error._tag])).toStrictEqual([
        [1, "HandlerFailure"],
        [2, "HandlerFailure"],
        [3, "HandlerFailure"]
      ])
    }).pipe(Effect.provide(oneAtATime)))

  it.effect("bad input: an invalid payload or unknown type is a typed error, nothing is stored, the runtime goes on", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const invalid = yield* Effect.flip(queue.submit(Record, { n: "x" } as unknown as { n: number }))
      expect(invalid._tag).toBe("InvalidPayload")
      expect(invalid.message).toBe(`payload.n: expected number, got "x"`)
      const unknownType = yield* Effect.flip(queue.submitEncoded("nope", {}))
      expect(unknownType._tag).toBe("UnknownTaskType")
      expect(unknownType.message).toContain(`unknown task type "nope"`)
      const badPriority = yield* Effect.flip(queue.submit(Record, { n: 1 }, { priority: 5000 }))
      expect(badPriority._tag).toBe("InvalidPayload")
      const mixed = yield* Effect.flip(queue.submitMany([
        { definition: Record, payload: { n: 1 } },
        // The types refuse it; a JavaScript caller (or a cast) can still send it.
        { definition: Record, payload: { n: "bad" } as unknown as { n: number } }
      ]))
      expect(mixed._tag).toBe("InvalidPayload")
      const counts = yield* queue.counts
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0)
      const ok = yield* queue.submit(Record, { n: 5 })
      expect(yield* queue.await(Record, ok)).toBe(5)
    }).pipe(Effect.provide(oneAtATime)))

  it.effect("slow in-process tasks run concurrently, up to fiberConcurrency", () =>
    Effect.gen(function*() {
      runs.length = 0
      const queue = yield* TaskQueue
      // Two rounds: the first while the type is untimed, the second once it is known to be slow.
      for (const round of [0, 1]) {
        const ids = yield* queue.submitMany(Array.from({ length: 8 }, (_, i) => ({ definition: Work, payload: { n: round * 10 + i, ms: 1000 } })))
        const all = yield* Effect.fork(Effect.forEach(ids, (id) => queue.await(Work, id)))
        yield* advance("1 second", "100 millis")
        yield* Fiber.join(all)
      }
      // All eight of each round started together, not one after another.
      const startsOf = (round: number) => new Set(runs.filter((r) => Math.floor(r.n / 10) === round).map((r) => r.at))
      expect(startsOf(0).size).toBe(1)
      expect(startsOf(1).size).toBe(1)
    }).pipe(Effect.provide(TroupeTest.layer(handlers, { fiberConcurrency: 8 }))))

  it.effect("a delayed task waits for its run-at", () =>
    Effect.gen(function*() {
      runs.length = 0
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Record, { n: 3 }, { delay: "2 seconds" })
      expect((yield* queue.get(id)).status).toBe("delayed")
      yield* advance("1990 millis")
      expect(runs).toStrictEqual([])
      yield* advance("20 millis")
      expect(runs.map((r) => r.at)).toStrictEqual([2000])
    }).pipe(Effect.provide(oneAtATime)))

  it.effect("a task left running by a process of this pid namespace that is gone runs again within a poll interval; a live owner's waits for its lease", () =>
    Effect.gen(function*() {
      runs.length = 0
      const store = yield* TaskStore
      // Stored behind the scheduler's back (nothing wakes it): two tasks running elsewhere,
      // their leases good for 10 minutes: one of a pid that no process has, one of a process
      // that runs (this one, as another scheduler).
      yield* store.insert([1, 2].map((n) => newTask(n, { type: "record", payload: { n }, runAt: 0, rank: 0, createdAt: 0, retry: oneSecond })))
      const lease = (owner: string, token: string) => ({ owner, token, expiresAt: 600_000, now: 0 })
      const gone = LeaseOwner.format({ host: LeaseOwners.host, pid: 2 ** 31 - 1, start: "1", instance: "gone" })
      yield* store.claim([TaskId.unsafeMake("task-1")], lease(gone, "g"))
      yield* store.claim([TaskId.unsafeMake("task-2")], lease(LeaseOwners.make(), "a"))
      yield* advance("4 seconds", "1 second")
      expect(runs).toStrictEqual([])
      yield* advance("1 second", "1 second")
      // Recovered at the 5 s poll, the attempt counted and recorded; it retries after its backoff.
      expect(runs).toStrictEqual([])
      const recovered = yield* store.get(TaskId.unsafeMake("task-1"))
      expect([recovered.status, recovered.runAt, recovered.errors.map((e) => [e.attempt, e.at, e.error._tag])])
        .toStrictEqual(["retrying", 6000, [[1, 5000, "AttemptLost"]]])
      yield* advance("1 second", "1 second")
      expect(runs.map((r) => [r.n, r.attempt, r.at])).toStrictEqual([[1, 2, 6000]])
      expect((yield* store.get(TaskId.unsafeMake("task-2"))).status).toBe("running")
      yield* advance("11 minutes", "1 minute")
      expect(runs.map((r) => [r.n, r.attempt])).toStrictEqual([[1, 2], [2, 2]])
      const expired = yield* store.get(TaskId.unsafeMake("task-2"))
      expect(expired.errors.map((e) => e.error._tag === "AttemptLost" ? e.error.reason : e.error._tag)).toStrictEqual(["leaseExpired"])
    }).pipe(Effect.provide(TroupeTest.layer(handlers, { fiberConcurrency: 1, pollInterval: Duration.seconds(5) }))))

  it.effect("a lost attempt past maxAttempts ends the task failed with its typed reasons; its dependents fail, the rest run", () =>
    Effect.gen(function*() {
      runs.length = 0
      const store = yield* TaskStore
      const queue = yield* TaskQueue
      const gone = LeaseOwner.format({ host: LeaseOwners.host, pid: 2 ** 31 - 1, start: "1", instance: "gone" })
      const twice = new RetryPolicy.RetryPolicy({ ...oneSecond, maxAttempts: 2 })
      yield* store.insert([1, 2].map((n) => newTask(n, { type: "record", payload: { n }, runAt: 0, rank: 0, createdAt: 0, retry: twice })))
      // Task 1: its first attempt was lost by a process that is gone; its second one (this
      // owner, a process that no longer renews it) sits on a lease that runs out at 30 s.
      yield* store.claim([TaskId.unsafeMake("task-1")], { owner: gone, token: "g", expiresAt: 600_000, now: 0 })
      yield* store.release([{ id: TaskId.unsafeMake("task-1"), token: "g", countAttempt: true }], 0)
      yield* store.claim([TaskId.unsafeMake("task-1")], { owner: "elsewhere:1:1:x", token: "e", expiresAt: 30_000, now: 0 })
      const dependent = yield* queue.submit(Record, { n: 3 }, { dependsOn: [TaskId.unsafeMake("task-1")] })
      yield* advance("29 seconds", "1 second")
      expect((yield* store.get(TaskId.unsafeMake("task-1"))).status).toBe("running")
      yield* advance("31 seconds", "1 second")
      const failed = yield* store.get(TaskId.unsafeMake("task-1"))
      expect([failed.status, failed.attempt]).toStrictEqual(["failed", 2])
      expect(failed.errors.map((e) => e.error._tag === "AttemptLost" ? [e.attempt, e.error.reason, e.error.owner] : [])).toStrictEqual([
        [2, "leaseExpired", "elsewhere:1:1:x"]
      ])
      expect((yield* store.get(dependent)).status).toBe("failed")
      // Task 2 ran; task 1 never ran here.
      expect(runs.map((r) => r.n)).toStrictEqual([2])
    }).pipe(Effect.provide(TroupeTest.layer(handlers, { fiberConcurrency: 1, pollInterval: Duration.seconds(5) }))))
  it.effect("a node that stops heartbeating is declared dead by the next leader: its attempts are recovered then, counted as nodeDead, not at lease expiry", () =>
    Effect.gen(function*() {
      runs.length = 0
      const store = yield* TaskStore
      const queue = yield* TaskQueue
      // Another node, on another host (no pid to probe), older than this one: it leads.
      const other = LeaseOwner.format({ host: "elsewhere", pid: 42, start: "1", instance: "n2" })
      const info = { host: "elsewhere", pid: 42, running: 1, perSecond: 0, workers: [], memory: null }
      yield* store.beat(other, -5000, 0, JSON.stringify(info))
      yield* store.insert([newTask(1, { type: "record", payload: { n: 1 }, runAt: 0, rank: 0, createdAt: 0, retry: oneSecond })])
      yield* store.claim([TaskId.unsafeMake("task-1")], { owner: other, token: "n2", expiresAt: 30_000, now: 0 })
      const before = yield* queue.stats
      expect(before.nodes.map((n) => [n.host, n.alive, n.leader])).toStrictEqual([["elsewhere", true, true], [os.hostname(), true, false]])
      // Its last heartbeat was at 0, first seen by this node at its beat at 2 s; the node timeout
      // is 10 s; this node heartbeats every 2 s: silent for more than 10 s at the beat at 14 s.
      yield* advance("12 seconds", "1 second")
      expect((yield* store.get(TaskId.unsafeMake("task-1"))).status).toBe("running")
      yield* advance("2 seconds", "1 second")
      const recovered = yield* store.get(TaskId.unsafeMake("task-1"))
      expect([recovered.status, recovered.errors.map((e) => [e.attempt, e.at, e.error._tag === "AttemptLost" ? e.error.reason : e.error._tag])])
        .toStrictEqual(["retrying", [[1, 14_000, "nodeDead"]]])
      yield* advance("1 second", "1 second")
      expect(runs.map((r) => [r.n, r.attempt, r.at])).toStrictEqual([[1, 2, 15_000]])
      // The dead node is forgotten once nothing of it runs; this one leads.
      const after = yield* queue.stats
      expect(after.nodes.map((n) => [n.host, n.alive, n.leader])).toStrictEqual([[os.hostname(), true, true]])
    }).pipe(Effect.provide(TroupeTest.layer(handlers, { fiberConcurrency: 1 }))))
})
