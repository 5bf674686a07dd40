import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type * as Activity from "../../src/domain/Activity.js"
import type { Claimed } from "../../src/domain/Task.js"
import * as TaskDefinition from "../../src/domain/TaskDefinition.js"
import * as FiberExecutor from "../../src/services/pool/FiberExecutor.js"
import * as Handlers from "../../src/workers/Handlers.js"
import { attempt, tags } from "../fixtures/claimed.js"

// The in-process executor runs batches through BatchRun under TestClock: no real sleeps.

const Sleep = TaskDefinition.make("sleep", { payload: Schema.Struct({ ms: Schema.Number }), success: Schema.Number })
const Chatty = TaskDefinition.make("chatty", { payload: Schema.Struct({ long: Schema.Number }) })

/** What the handlers did, in order, for assertions. */
const journal: Array<string> = []

const handlers = Handlers.make(
  Sleep.handler(({ ms }, ctx) =>
    Effect.sleep(ms).pipe(
      Effect.as(ms),
      Effect.onExit((exit) => Effect.sync(() => journal.push(`${ctx.taskId}:${exit._tag}`)))
    )
  ),
  Chatty.handler(({ long }, ctx) =>
    Effect.gen(function*() {
      yield* ctx.log("info", "starting")
      yield* ctx.progress(-5)
      yield* ctx.progress(42.5, "x".repeat(long))
      yield* ctx.log("warn", "y".repeat(long * 10))
      yield* ctx.progress(250, "done")
      yield* ctx.log("debug", "end")
    })
  )
)

const task = attempt

describe("FiberExecutor (BatchRun)", () => {
  it.effect("a task over its timeout fails with TaskTimeout, its finalizer runs, and the batch goes on", () =>
    Effect.gen(function*() {
      const executor = FiberExecutor.make(handlers, { concurrency: 1 })
      const slow = task("sleep", { ms: 10_000 }, 1_000)
      const quick = task("sleep", { ms: 100 }, 1_000)
      const untimed = task("sleep", { ms: 50 })
      const fiber = yield* Effect.fork(executor.run([slow, quick, untimed]))
      yield* TestClock.adjust("999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* TestClock.adjust("100 millis")
      yield* TestClock.adjust("50 millis")
      const { outcomes } = yield* Fiber.join(fiber)
      expect(tags(outcomes)).toStrictEqual(["TaskTimeout", "Succeeded", "Succeeded"])
      const timeout = outcomes[0]
      expect(timeout?._tag === "Failed" && timeout.error._tag === "TaskTimeout" && timeout.error.timeoutMs).toBe(1_000)
      expect(timeout?._tag === "Failed" && timeout.error.message).toContain("1000 ms timeout")
      expect(journal).toContain(`${slow.id}:Failure`)
      expect(journal).toContain(`${quick.id}:Success`)
    }))

  it.effect("a short timeout after a long one still fires on time", () =>
    Effect.gen(function*() {
      const executor = FiberExecutor.make(handlers, { concurrency: 1 })
      const first = task("sleep", { ms: 10 }, 60_000)
      const second = task("sleep", { ms: 10_000 }, 500)
      const fiber = yield* Effect.fork(executor.run([first, second]))
      yield* TestClock.adjust("10 millis")
      yield* TestClock.adjust("500 millis")
      const { outcomes } = yield* Fiber.join(fiber)
      expect(tags(outcomes)).toStrictEqual(["Succeeded", "TaskTimeout"])
    }))

  it.effect("interrupt(id) stops the running task (its finalizer runs), skips a queued one, and the rest runs", () =>
    Effect.gen(function*() {
      const executor = FiberExecutor.make(handlers, { concurrency: 1 })
      const running = task("sleep", { ms: 10_000 })
      const queued = task("sleep", { ms: 10 })
      const last = task("sleep", { ms: 10 })
      const fiber = yield* Effect.fork(executor.run([running, queued, last]))
      yield* TestClock.adjust("1 millis")
      yield* executor.interrupt([running.id, queued.id])
      yield* TestClock.adjust("10 millis")
      const { outcomes } = yield* Fiber.join(fiber)
      expect(tags(outcomes)).toStrictEqual(["TaskDefect:interrupted", "TaskDefect:interrupted", "Succeeded"])
      expect(journal).toContain(`${running.id}:Failure`)
      expect(journal.some((line) => line.startsWith(`${queued.id}:`))).toBe(false)
      expect(journal).toContain(`${last.id}:Success`)
    }))

  it.effect("a cancel that arrives before its batch skips the task when the batch comes", () =>
    Effect.gen(function*() {
      const executor = FiberExecutor.make(handlers, { concurrency: 1 })
      const early = task("sleep", { ms: 10 })
      const other = task("sleep", { ms: 10 })
      yield* executor.interrupt([early.id])
      const fiber = yield* Effect.fork(executor.run([early, other]))
      yield* TestClock.adjust("10 millis")
      const { outcomes } = yield* Fiber.join(fiber)
      expect(tags(outcomes)).toStrictEqual(["TaskDefect:interrupted", "Succeeded"])
    }))

  it.effect("progress and log lines reach the sink in order, numbered, clamped and cut", () =>
    Effect.gen(function*() {
      const items: Array<Activity.Activity> = []
      const executor = FiberExecutor.make(handlers, {
        concurrency: 1,
        onActivity: (batch) => Effect.sync(() => items.push(...batch))
      })
      yield* TestClock.adjust("5 seconds")
      const one = task("chatty", { long: 2_000 })
      const two = task("chatty", { long: 1 })
      const batch: NonEmptyReadonlyArray<Claimed> = [one, two]
      const { outcomes } = yield* executor.run(batch)
      expect(tags(outcomes)).toStrictEqual(["Succeeded", "Succeeded"])
      const mine = items.filter((i) => i.taskId === one.id)
      expect(mine.map((i) => i._tag === "Log" ? `log${i.n}:${i.level}` : `progress:${i.percent}`)).toStrictEqual([
        "log1:info",
        "progress:0",
        "progress:42.5",
        "log2:warn",
        "progress:100",
        "log3:debug"
      ])
      const description = mine[2]
      expect(description?._tag === "Progress" && description.description?.length).toBe(1024)
      const long = mine[3]
      expect(long?._tag === "Log" && long.message.length).toBe(8192)
      expect(long?._tag === "Log" && long.message.endsWith("…")).toBe(true)
      expect(mine.every((i) => i.at === 5_000 && i.attempt === 1)).toBe(true)
      expect(items.filter((i) => i.taskId === two.id && i._tag === "Log").map((i) => i._tag === "Log" && i.n)).toStrictEqual([1, 2, 3])
    }))
})
