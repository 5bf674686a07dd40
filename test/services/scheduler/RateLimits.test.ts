import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { advance } from "../../support/clock.js"
import { fileRuntime } from "../../support/runtime.js"

// Rate limits under TestClock on the whole runtime (SQLite): so many starts per interval, held by
// the store. Each handler notes when it started (the Clock is TestClock's), so the tests check
// what a user would: no more than the limit started in any interval, the rest waited and ran,
// other types and other keys went on meanwhile, and two processes on one file share the limit.

const T0 = Date.UTC(2026, 0, 1)

/** When each task started (TestClock time, ms from T0), by task type and rate key. */
const makeLog = () => {
  const starts: Array<{ readonly type: string; readonly account: string; readonly at: number }> = []
  const note = (type: string, account: string) =>
    Effect.map(Clock.currentTimeMillis, (now) => void starts.push({ type, account, at: now - T0 }))
  return { starts, note }
}

const Payload = Schema.Struct({ account: Schema.String })

/** Handlers that note their start; `Api` is limited to 10 a second, `ApiPerAccount` to 2 a second per rate key. */
const makeHandlers = (log: ReturnType<typeof makeLog>) => {
  const Api = TaskDefinition.make("api", { payload: Payload, execution: "fiber", rateLimit: { limit: 10, per: "1 second" } })
  const PerAccount = TaskDefinition.make("per-account", {
    payload: Payload,
    execution: "fiber",
    rateLimit: { limit: 2, per: "1 second", byKey: true }
  })
  const Free = TaskDefinition.make("free", { payload: Payload, execution: "fiber" })
  /** Per key and with a concurrency limit; each runs 10 s. */
  const Slow = TaskDefinition.make("slow", {
    payload: Payload,
    execution: "fiber",
    concurrency: 10,
    rateLimit: { limit: 1, per: "1 second", byKey: true }
  })
  const handlers = Handlers.make(
    Slow.handler((p) => Effect.zipRight(log.note("slow", p.account), Effect.sleep("10 seconds"))),
    Api.handler((p) => log.note("api", p.account)),
    PerAccount.handler((p) => log.note("per-account", p.account)),
    Free.handler((p) => log.note("free", p.account))
  )
  return { Api, PerAccount, Free, Slow, handlers }
}

const runtime = (database: string, handlers: Handlers.Handlers) => fileRuntime(database, handlers, Duration.seconds(30))

/** The most starts in any window of `perMs` (a window opening at each start). */
const mostIn = (times: ReadonlyArray<number>, perMs: number) =>
  Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + perMs).length))

const tempFile = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "troupe-rates-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => path.join(dir, "tasks.db")))

describe("rate limits", () => {
  it.scoped("10 a second: 10 start at once, the rest wait (pending, not failed) and start as the allowance comes back; other types do not wait", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const log = makeLog()
      const { Api, Free, handlers } = makeHandlers(log)
      const ctx = yield* Layer.build(runtime(":memory:", handlers))
      const queue = Context.get(ctx, TaskQueue)
      const ids = yield* queue.submitMany(Array.from({ length: 30 }, (_, i) => ({ definition: Api, payload: { account: `a${i}` } })))
      yield* queue.submitMany(Array.from({ length: 5 }, (_, i) => ({ definition: Free, payload: { account: `f${i}` } })))
      yield* advance("50 millis")
      // At once: the whole allowance, and every task of the other type.
      expect(log.starts.filter((s) => s.type === "api").length).toBe(10)
      expect(log.starts.filter((s) => s.type === "free").length).toBe(5)
      // The others wait as pending: nothing failed.
      const counts = yield* queue.counts
      expect(counts.pending).toBe(20)
      expect(counts.failed).toBe(0)
      const stats = yield* queue.stats
      expect(stats.rateLimits).toStrictEqual([
        { bucket: "api", type: "api", rateKey: null, limit: 10, perMs: 1000, available: 0, opensAt: T0 + 1000 }
      ])
      yield* advance("3 seconds")
      const api = log.starts.filter((s) => s.type === "api").map((s) => s.at)
      expect(api.length).toBe(30)
      expect(mostIn(api, 1000)).toBe(10)
      // The next 10 as soon as the first 10 are a second old, then the last 10 a second later.
      expect(api).toStrictEqual([...Array(10).fill(0), ...Array(10).fill(1000), ...Array(10).fill(2000)])
      expect((yield* Effect.forEach(ids, (id) => queue.get(id))).every((t) => t.status === "completed")).toBe(true)
      // Idle again: the whole allowance is back, and stats no longer list it.
      expect((yield* queue.stats).rateLimits).toStrictEqual([])
    }))

  it.scoped("per rate key: each account has its own allowance; a spent one does not hold up the others", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const log = makeLog()
      const { PerAccount, handlers } = makeHandlers(log)
      const ctx = yield* Layer.build(runtime(":memory:", handlers))
      const queue = Context.get(ctx, TaskQueue)
      // Account a's six tasks come first (better rank), then b's two.
      yield* queue.submitMany(Array.from({ length: 6 }, () => ({ definition: PerAccount, payload: { account: "a" }, options: { rateKey: "a", priority: "high" } })))
      yield* queue.submitMany(Array.from({ length: 2 }, () => ({ definition: PerAccount, payload: { account: "b" }, options: { rateKey: "b" } })))
      yield* advance("50 millis")
      const started = (account: string) => log.starts.filter((s) => s.account === account).map((s) => s.at)
      expect(started("a")).toStrictEqual([0, 0])
      expect(started("b")).toStrictEqual([0, 0])
      const stats = yield* queue.stats
      expect(stats.rateLimits.map((r) => [r.bucket, r.rateKey, r.available, r.opensAt - T0])).toStrictEqual([
        ["per-account/a", "a", 0, 1000],
        ["per-account/b", "b", 0, 1000]
      ])
      yield* advance("3 seconds")
      expect(started("a")).toStrictEqual([0, 0, 1000, 1000, 2000, 2000])
      expect(started("b")).toStrictEqual([0, 0])
    }))

  it.scoped("per rate key with a concurrency limit too: a spent key does not hold back the type's other keys", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const log = makeLog()
      const { Slow, handlers } = makeHandlers(log)
      const ctx = yield* Layer.build(runtime(":memory:", handlers))
      const queue = Context.get(ctx, TaskQueue)
      yield* queue.submitMany(Array.from({ length: 3 }, () => ({ definition: Slow, payload: { account: "a" }, options: { rateKey: "a", priority: "high" } })))
      yield* queue.submitMany(Array.from({ length: 2 }, () => ({ definition: Slow, payload: { account: "b" }, options: { rateKey: "b" } })))
      yield* advance("50 millis")
      // One of each key at once (a's batch came back short: a is held, not the type), then one a second.
      expect(log.starts.map((s) => [s.account, s.at])).toStrictEqual([["a", 0], ["b", 0]])
      yield* advance("2 seconds")
      const byTime = log.starts.map((s) => [s.at, s.account]).sort((x, y) => String(x).localeCompare(String(y)))
      expect(byTime).toStrictEqual([[0, "a"], [0, "b"], [1000, "a"], [1000, "b"], [2000, "a"]])
    }))

  it.scoped("two processes on one SQLite file share one allowance", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const database = yield* tempFile
      const log = makeLog()
      const { Api, handlers } = makeHandlers(log)
      const a = yield* Layer.build(runtime(database, handlers))
      const b = yield* Layer.build(runtime(database, handlers))
      yield* Context.get(a, TaskQueue).submitMany(Array.from({ length: 20 }, (_, i) => ({ definition: Api, payload: { account: `a${i}` } })))
      yield* Context.get(b, TaskQueue).submitMany(Array.from({ length: 20 }, (_, i) => ({ definition: Api, payload: { account: `b${i}` } })))
      // The processes poll each other's work (SQLite has no notifications): 30 s apart here.
      yield* advance("40 seconds", "50 millis")
      const api = log.starts.map((s) => s.at)
      expect(api.length).toBe(40)
      expect(mostIn(api, 1000)).toBeLessThanOrEqual(10)
      // Both processes ran some.
      expect(log.starts.some((s) => s.account.startsWith("b"))).toBe(true)
    }))

  it("a rate limit that cannot hold is refused when the definition is made", () => {
    expect(() => TaskDefinition.make("bad", { payload: Payload, rateLimit: { limit: 0, per: "1 second" } })).toThrow(
      /invalid rate limit: limit must be a whole number of starts from 1 to 1000000 \(got 0\)/
    )
    expect(() => TaskDefinition.make("bad", { payload: Payload, rateLimit: { limit: 5, per: 0 } })).toThrow(
      /invalid rate limit: per must be a finite duration of at least 1 millisecond/
    )
  })
})
