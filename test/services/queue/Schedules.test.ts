import { describe, expect, it } from "@effect/vitest"
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

// Schedules under TestClock, on SQLite (in memory, or a file a restart or a second process
// opens): occurrences over a simulated day, a time zone's DST change, a restart in the middle
// (each misfire policy), and two processes sharing the store.

const Job = TaskDefinition.make("job", { payload: Schema.Struct({ n: Schema.Number }), execution: "fiber" })
const handlers = Handlers.make(Job.handler(() => Effect.void))

const tempFile = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "troupe-schedules-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => path.join(dir, "tasks.db")))

/**
 * A process on the file: the whole runtime (scheduler, queue, schedules). Its periodic duties
 * (heartbeats, polls, samples) spaced out: days go by in these tests, a step a minute.
 */
const runtime = (database: string) => fileRuntime(database, handlers, Duration.minutes(30))

/** Runs `body` in a process on the file that stops afterwards. */
const inProcess = <A, E>(database: string, body: Effect.Effect<A, E, TaskQueue>) =>
  Effect.scoped(Effect.flatMap(Layer.build(runtime(database)), (ctx) => Effect.provide(body, ctx)))

const at = (iso: string) => new Date(iso).getTime()
const iso = (ms: number) => new Date(ms).toISOString()

/** The tasks stored, by run-at: when each occurrence was due, and how it ended. */
const occurrences = Effect.map(Effect.flatMap(TaskQueue, (q) => q.list({ limit: 10_000 })), (tasks) =>
  tasks.map((t) => ({ at: iso(t.runAt), status: t.status })).sort((a, b) => a.at.localeCompare(b.at)))

describe("schedules", () => {
  it.scoped("an hourly cron over a simulated day: 24 tasks, each submitted at its hour and run", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at("2026-01-01T00:00:30Z"))
      yield* inProcess(":memory:", Effect.gen(function*() {
        const queue = yield* TaskQueue
        const made = yield* queue.schedule("hourly", Job, { n: 1 }, { cron: "0 * * * *" })
        expect(iso(made.nextAt)).toBe("2026-01-01T01:00:00.000Z")
        yield* advance("24 hours", "10 minutes")
        const seen = yield* occurrences
        expect(seen.map((o) => o.at)).toStrictEqual(Array.from({ length: 24 }, (_, h) => iso(at("2026-01-01T01:00:00Z") + h * 3_600_000)))
        expect(seen.every((o) => o.status === "completed")).toBe(true)
        expect(iso((yield* queue.schedules)[0]!.nextAt)).toBe("2026-01-02T01:00:00.000Z")
      }))
    }))

  it.scoped("a cron in a time zone across the end of summer time: each wall-clock time once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at("2026-10-24T23:00:00Z"))
      yield* inProcess(":memory:", Effect.gen(function*() {
        const queue = yield* TaskQueue
        yield* queue.schedule("nightly", Job, { n: 1 }, { cron: "30 2 * * *", timezone: "Europe/Berlin" })
        yield* advance("27 hours", "30 minutes")
        // 02:30 CEST on the 25th (the first of its two 02:30s), 02:30 CET on the 26th.
        expect((yield* occurrences).map((o) => o.at)).toStrictEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"])
      }))
    }))

  it.scoped("a restart in the middle: missed occurrences run once (the latest) or are skipped; none twice", () =>
    Effect.gen(function*() {
      const file = yield* tempFile
      yield* TestClock.setTime(at("2026-01-01T00:00:00Z"))
      yield* inProcess(file, Effect.gen(function*() {
        const queue = yield* TaskQueue
        yield* queue.schedule("once", Job, { n: 1 }, { every: "1 hour" })
        yield* queue.schedule("skip", Job, { n: 2 }, { every: "1 hour", misfire: "skip" })
        yield* advance("90 minutes", "1 minute")
      }))
      // Down for five hours: 02:00 to 06:00 missed.
      yield* TestClock.adjust("5 hours")
      yield* inProcess(file, Effect.gen(function*() {
        const queue = yield* TaskQueue
        // The app declares its schedules again as it starts: the same rule keeps its place.
        yield* queue.schedule("once", Job, { n: 1 }, { every: "1 hour" })
        yield* queue.schedule("skip", Job, { n: 2 }, { every: "1 hour", misfire: "skip" })
        yield* advance("1 minute", "1 second")
        // Each task names its occurrence (the key); the one run late runs when fired (06:30).
        const stored = (yield* queue.list({ limit: 100 })).map((t) => [t.idempotencyKey, iso(t.runAt)])
        expect(stored.sort()).toStrictEqual([
          [`troupe:schedule:once:${at("2026-01-01T01:00:00Z")}`, "2026-01-01T01:00:00.000Z"],
          [`troupe:schedule:once:${at("2026-01-01T06:00:00Z")}`, "2026-01-01T06:30:00.000Z"],
          [`troupe:schedule:skip:${at("2026-01-01T01:00:00Z")}`, "2026-01-01T01:00:00.000Z"]
        ])
        // Then on time again, both.
        yield* advance("1 hour", "1 minute")
        expect((yield* occurrences).filter((o) => o.at === "2026-01-01T07:00:00.000Z")).toHaveLength(2)
      }))
    }))

  it.scoped("two processes on one store: each occurrence is submitted once", () =>
    Effect.gen(function*() {
      const file = yield* tempFile
      yield* TestClock.setTime(at("2026-01-01T00:00:00Z"))
      yield* inProcess(file, Effect.zipRight(
        Effect.flatMap(TaskQueue, (q) => q.schedule("minutely", Job, { n: 1 }, { every: "1 minute", timeout: Duration.minutes(5) })),
        inProcess(file, Effect.gen(function*() {
          yield* advance("1 hour", "5 seconds")
          const seen = yield* occurrences
          expect(seen).toHaveLength(60)
          expect(new Set(seen.map((o) => o.at)).size).toBe(60)
          // Options given as Effect values reach each occurrence (stored as milliseconds).
          expect(new Set((yield* Effect.flatMap(TaskQueue, (q) => q.list({ limit: 100 }))).map((t) => t.timeoutMs))).toStrictEqual(new Set([300_000]))
        }))
      ))
    }))

  it.effect("bad schedules are refused with typed errors; unschedule removes one", () =>
    Effect.scoped(Effect.gen(function*() {
      const file = yield* tempFile
      yield* inProcess(file, Effect.gen(function*() {
        const queue = yield* TaskQueue
        const error = (e: Effect.Effect<unknown, { readonly _tag: string; readonly message: string }>) =>
          Effect.map(Effect.flip(e), (x) => [x._tag, x.message])
        expect(yield* error(queue.schedule("bad cron", Job, { n: 1 }, { cron: "0 * * * *" })))
          .toStrictEqual(["InvalidSchedule", `schedule "bad cron": a name is 1 to 128 letters, digits, or _ . : -`])
        expect(yield* error(queue.schedule("x", Job, { n: 1 }, { cron: "61 * * * *" })))
          .toStrictEqual(["InvalidSchedule", `schedule "x": cron "61 * * * *": Expected a value between 0 and 59`])
        expect((yield* error(queue.scheduleEncoded("x", "job", { n: "one" }, { every: "1 hour" })))[0]).toBe("InvalidPayload")
        expect((yield* error(queue.scheduleEncoded("x", "nope", {}, { every: "1 hour" })))[0]).toBe("UnknownTaskType")
        yield* queue.schedule("x", Job, { n: 1 }, { every: "1 hour" })
        expect((yield* queue.schedules).map((s) => s.name)).toStrictEqual(["x"])
        expect(yield* queue.unschedule("x")).toBe(true)
        expect(yield* queue.unschedule("x")).toBe(false)
        expect(yield* queue.schedules).toStrictEqual([])
      }))
    })))
})
