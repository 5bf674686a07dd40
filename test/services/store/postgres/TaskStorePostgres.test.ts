import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Pg from "pg"
import * as TaskId from "../../../../src/domain/TaskId.js"
import { TaskStore } from "../../../../src/services/store/TaskStore.js"
import type { StoreSignal } from "../../../../src/services/store/TaskStore.js"
import { layerPostgres } from "../../../../src/services/store/TaskStorePostgres.js"
import { freshDatabase, freshDatabaseWith } from "../../../support/postgres.js"
import { lifecycleSuite } from "../LifecycleStoreSuite.js"
import { newTask, suite } from "../TaskStoreSuite.js"

// The same contract suites as SQLite's, on the real PostgreSQL server: a database of its own
// for every test.

const postgres = Layer.unwrapScoped(Effect.map(freshDatabase, (url) => layerPostgres({ url, maxConnections: 4 })))

suite("postgres", postgres)
lifecycleSuite("postgres", postgres)

describe("nodes sharing one PostgreSQL database", () => {
  /** Two stores on one database, each with its own pool, as two nodes have. */
  const twoNodes = Effect.gen(function*() {
    const url = yield* freshDatabase
    const node = () => Effect.map(Layer.build(layerPostgres({ url, maxConnections: 4 })), (context) => Context.get(context, TaskStore))
    const a = yield* node()
    return [a, yield* node()] as const
  })

  it.live("claims racing on two nodes never exceed a type's limit, and never take one task twice", () =>
    Effect.scoped(Effect.gen(function*() {
      const [a, b] = yield* twoNodes
      yield* a.insert(Array.from({ length: 40 }, (_, n) => newTask(n, { type: n % 2 === 0 ? "limited" : "echo", rank: n })))
      const ids = Array.from({ length: 40 }, (_, n) => TaskId.unsafeMake(`task-${n}`))
      const limits = new Map([["limited", 3]])
      // Twenty claims at once, half on each node, each asking for every task.
      const results = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => (i % 2 === 0 ? a : b).claim(ids, { owner: `node-${i % 2}`, token: `t${i}`, expiresAt: 60_000, now: 2000, limits }),
        { concurrency: "unbounded" }
      )
      const claimed = results.flat()
      expect(new Set(claimed.map((c) => c.id)).size).toBe(claimed.length)
      expect(claimed.filter((c) => c.type === "limited").length).toBeLessThanOrEqual(3)
      expect(claimed.filter((c) => c.type === "echo").length).toBe(20)
      // What the racing claims left of the limit, a later claim takes; then nothing more.
      yield* a.claim(ids, { owner: "node-0", token: "late", expiresAt: 60_000, now: 2000, limits })
      const running = yield* a.list({ status: ["running"], type: "limited", limit: 100 })
      expect(running.length).toBe(3)
      // The best three (lowest rank) of the limited type run, whichever node took them.
      expect(running.map((t) => t.id).sort()).toStrictEqual(["task-0", "task-2", "task-4"])
    })), 60_000)

  it.live("claims racing on two nodes never take more than a rate limit's allowance", () =>
    Effect.scoped(Effect.gen(function*() {
      const [a, b] = yield* twoNodes
      yield* a.insert(Array.from({ length: 40 }, (_, n) => newTask(n, { type: "api", rank: n })))
      const ids = Array.from({ length: 40 }, (_, n) => TaskId.unsafeMake(`task-${n}`))
      const rates = new Map([["api", { limit: 7, perMs: 1000, byKey: false }]])
      const claimAt = (i: number, now: number) =>
        (i % 2 === 0 ? a : b).claim(ids, { owner: `node-${i % 2}`, token: `t${now}-${i}`, expiresAt: 60_000, now, rates })
      // Twenty claims at once, half on each node, each asking for every task.
      const racing = (yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => claimAt(i, 2000), { concurrency: "unbounded" })).flat()
      expect(new Set(racing.map((c) => c.id)).size).toBe(racing.length)
      expect(racing.length).toBeLessThanOrEqual(7)
      // What the racing claims left (a claim that found the gate held takes nothing), a later claim takes; then nothing more that second.
      yield* claimAt(0, 2500)
      expect((yield* a.list({ status: ["running"], limit: 100 })).length).toBe(7)
      expect(yield* claimAt(1, 2999)).toStrictEqual([])
      // The next second: seven more.
      expect((yield* claimAt(1, 3000)).length).toBe(7)
    })), 60_000)

  it.live("each write tells the other nodes what it concerns: ready work, a later due time, a cancel or a pause gate", () =>
    Effect.scoped(Effect.gen(function*() {
      const [a, b] = yield* twoNodes
      const heard = yield* Queue.unbounded<StoreSignal>()
      yield* Effect.forkScoped(Stream.runForEach(b.signals, (s) => Queue.offer(heard, s)))
      // A (re)connected listener first hears every kind once: what was said meanwhile is not known.
      const next = (n: number) => Effect.map(Effect.forEach(Array.from({ length: n }), () => Queue.take(heard)), (xs) => [...xs].sort())
      expect(yield* next(3)).toStrictEqual(["control", "ready", "timer"])
      yield* a.insert([newTask(1)])
      expect(yield* next(1)).toStrictEqual(["ready"])
      yield* a.insert([newTask(2, { status: "delayed", runAt: 60_000 })])
      expect(yield* next(1)).toStrictEqual(["timer"])
      yield* a.cancel([TaskId.unsafeMake("task-1")], 3000)
      expect(yield* next(2)).toStrictEqual(["control", "ready"])
      yield* a.setPaused({ type: "echo" }, true, 3000)
      expect(yield* next(2)).toStrictEqual(["control", "ready"])
      expect(yield* Queue.size(heard)).toBe(0)
    })), 30_000)

  it.live("a write that waits on a lock held elsewhere fails after the lock timeout (alone, without a transaction); the writer goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* freshDatabase
      const store = yield* Effect.map(Layer.build(layerPostgres({ url, maxConnections: 4 })), (context) => Context.get(context, TaskStore))
      const app = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const client = new Pg.Client({ connectionString: Redacted.value(url) })
          await client.connect()
          return client
        }),
        (client) => Effect.promise(() => client.end())
      )
      // An application's open transaction holds idempotency key "k".
      yield* Effect.promise(() => app.query("BEGIN"))
      yield* Effect.promise(() =>
        app.query(`INSERT INTO tasks (id, type, payload, priority, status, retry, run_at, rank, idempotency_key, created_at, updated_at)
                   VALUES ('held', 'echo', 'null', 10, 'pending', '[]', 0, 0, 'k', 0, 0)`))
      const waited = yield* Effect.either(store.insert([newTask(1, { idempotencyKey: "k" })]))
      expect(waited._tag === "Left" ? waited.left.message : "inserted").toContain("lock timeout")
      yield* Effect.promise(() => app.query("ROLLBACK"))
      const [inserted] = yield* store.insert([newTask(1, { idempotencyKey: "k" })])
      expect(inserted!.created).toBe(true)
    })), 30_000)

  it.live("an id prefix lists the same tasks under a collation that is not bytewise (ICU en-US)", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* freshDatabaseWith("TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
      const store = yield* Effect.map(Layer.build(layerPostgres({ url, maxConnections: 2 })), (context) => Context.get(context, TaskStore))
      yield* store.insert([newTask(1), newTask(100), newTask(11), newTask(2), newTask(10, { id: TaskId.unsafeMake("task_1x") })])
      expect((yield* store.list({ limit: 100, idPrefix: "task-1" })).map((t) => t.id).sort()).toStrictEqual(["task-1", "task-100", "task-11"])
      // `_` is a character to match, not LIKE's wildcard.
      expect((yield* store.list({ limit: 100, idPrefix: "task_" })).map((t) => t.id)).toStrictEqual(["task_1x"])
    })), 30_000)
})
