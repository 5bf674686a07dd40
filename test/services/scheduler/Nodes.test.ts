import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as LeaseOwner from "../../../src/domain/LeaseOwner.js"
import * as RetryPolicy from "../../../src/domain/RetryPolicy.js"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import { StoreError } from "../../../src/domain/TaskErrors.js"
import { compose, fiberExecutors } from "../../../src/runtime/compose.js"
import * as Telemetry from "../../../src/runtime/Telemetry.js"
import * as TroupeConfig from "../../../src/runtime/TroupeConfig.js"
import * as SystemMetrics from "../../../src/services/resources/SystemMetrics.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import { TaskStore } from "../../../src/services/store/TaskStore.js"
import * as TaskStoreSqlite from "../../../src/services/store/TaskStoreSqlite.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { advance } from "../../support/clock.js"
import { newTask } from "../store/TaskStoreSuite.js"

// Which nodes are dead is judged by what this node saw on its own clock: a node whose heartbeat
// stopped changing while this node's own heartbeats succeeded. A database outage longer than the
// node timeout, after which every row looks old, declares no one dead.

const Noop = TaskDefinition.make("noop", { payload: Schema.Struct({ n: Schema.Number }), execution: "fiber" })
const handlers = Handlers.make(Noop.handler(() => Effect.void))

/** The store (SQLite in memory) as this node sees it: away (heartbeats fail) while `away.now`. */
const away = { now: false }
const store = Layer.effect(TaskStore, Effect.map(TaskStore, (s) => ({
  ...s,
  beat: (...args: Parameters<typeof s.beat>) =>
    Effect.suspend(() => (away.now ? Effect.fail(new StoreError({ message: "connection terminated" })) : s.beat(...args)))
} satisfies typeof TaskStore.Service))).pipe(Layer.provide(TaskStoreSqlite.layerMemory), Layer.orDie)

const runtime = () => {
  const config = { ...TroupeConfig.defaults, gpu: 0, shutdownTimeout: Duration.zero, database: ":memory:" }
  return compose(config, handlers, store, fiberExecutors(config, handlers), SystemMetrics.layerScripted([{}]), Telemetry.layerOff)
}

const other = LeaseOwner.format({ host: "elsewhere", pid: 42, start: "1", instance: "n2" })
const info = JSON.stringify({ host: "elsewhere", pid: 42, running: 1, perSecond: 0, workers: [], memory: null })
const task = TaskId.unsafeMake("task-1")

describe("nodes: who is dead", () => {
  it.effect("an outage longer than the node timeout declares no one dead; silence after it does", () =>
    Effect.gen(function*() {
      away.now = false
      const s = yield* TaskStore
      // Another node (another host) runs a task; it heartbeats every 2 s until the outage.
      yield* s.beat(other, -5000, 0, info)
      yield* s.insert([newTask(1, { type: "noop", payload: { n: 1 }, runAt: 0, rank: 0, createdAt: 0, retry: RetryPolicy.defaults })])
      yield* s.claim([task], { owner: other, token: "n2", expiresAt: 600_000, now: 0 })
      yield* advance("1 second", "1 second")
      // The database is away for 20 s: neither node heartbeats.
      away.now = true
      yield* advance("20 seconds", "1 second")
      away.now = false
      // Back: this node's first heartbeats see the other's row 21 s old; it comes back 3 s later.
      yield* advance("3 seconds", "1 second")
      for (let t = 0; t < 10; t++) {
        yield* s.beat(other, -5000, 24_000 + t * 2000, info)
        yield* advance("2 seconds", "1 second")
      }
      expect((yield* s.get(task)).status).toBe("running")
      // Now it stops for good: declared dead once silent for the timeout.
      yield* advance("12 seconds", "1 second")
      const recovered = yield* s.get(task)
      expect([recovered.status, recovered.errors.map((e) => (e.error._tag === "AttemptLost" ? e.error.reason : e.error._tag))])
        .toStrictEqual(["retrying", ["nodeDead"]])
    }).pipe(Effect.provide(runtime())))

  it.effect("stats' last hour adds up every node's ends: this node's as they happen, the others' from their heartbeats", () =>
    Effect.gen(function*() {
      away.now = false
      const s = yield* TaskStore
      const queue = yield* TaskQueue
      yield* advance("2 minutes", "1 second")
      // The other node ended 5 attempts (2 failed) a minute ago and 4 this minute, by its heartbeat.
      const minute = 2 * 60_000
      yield* s.beat(other, -5000, minute, JSON.stringify({ ...JSON.parse(info), history: [[minute - 60_000, 3, 2], [minute, 4, 0]] }))
      // This node runs 3.
      yield* Effect.forEach([1, 2, 3], (n) => queue.submit(Noop, { n }))
      yield* advance("2 seconds", "100 millis")
      const stats = yield* queue.stats
      expect(stats.nodes.map((n) => n.host).sort()).toContain("elsewhere")
      expect(stats.history.slice(-2)).toStrictEqual([
        { at: minute - 60_000, completed: 3, failed: 2 },
        { at: minute, completed: 4 + 3, failed: 0 }
      ])
      expect(stats.history.reduce((n, m) => n + m.completed + m.failed, 0)).toBe(12)
    }).pipe(Effect.provide(runtime())))
})
