import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
// The core contract on real worker threads and a real SQLite file (npm test builds first):
// start order, one live attempt per task, liveness of busy threads.
import * as Troupe from "../../../dist/src/runtime/Troupe.js"
import { TaskQueue } from "../../../dist/src/services/queue/TaskQueue.js"
import { Exit, Gate, Mark, Nap, Spin } from "../../../dist/test/fixtures/handlers.js"

const handlersModule = fileURLToPath(new URL("../../../dist/test/fixtures/handlers.js", import.meta.url))
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "troupe-contract-"))

/** Waits (through `watch`) until the task is running. */
const untilRunning = (id: Parameters<TaskQueue["Type"]["watch"]>[0]) =>
  Effect.flatMap(TaskQueue, (queue) =>
    Stream.runDrain(queue.watch(id).pipe(Stream.takeUntil((e) => e._tag === "StatusChanged" && e.status === "running"))))

const marks = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [])

/**
 * One thread kept busy by a gated task; the tasks submitted meanwhile start in rank order
 * once the gate opens, and none of them is claimed (`running`) while it waits.
 */
const startOrder = (priorities: ReadonlyArray<number | "low" | "normal" | "high" | "critical">) =>
  Effect.gen(function*() {
    const dir = tempDir()
    const gate = path.join(dir, "gate")
    const file = path.join(dir, "marks")
    const queue = yield* TaskQueue
    const held = yield* queue.submit(Gate, { file: gate })
    yield* untilRunning(held)
    const ids = []
    for (const [i, priority] of priorities.entries()) {
      ids.push(yield* queue.submit(Mark, { file, mark: `${priority}#${i}` }, { priority }))
    }
    // Only the gated task runs: nothing waits behind it in a claimed (running) state.
    expect((yield* queue.counts).running).toBe(1)
    fs.writeFileSync(gate, "open")
    for (const id of ids) yield* queue.await(Mark, id)
    return marks(file)
  })

describe("the core contract on worker threads", () => {
  const oneThread = Troupe.layer({ database: path.join(tempDir(), "tasks.db"), handlersModule, workers: 1 })

  it.live("tasks submitted while the only thread is busy start highest priority first, FIFO within a priority", () =>
    Effect.gen(function*() {
      expect(yield* startOrder([1, 1, 5, 5, 10, 10])).toStrictEqual(["10#4", "10#5", "5#2", "5#3", "1#0", "1#1"])
      expect(yield* startOrder(["low", "critical", "high", "normal"])).toStrictEqual(["critical#1", "high#2", "normal#3", "low#0"])
    }).pipe(Effect.provide(oneThread)), 60_000)

  it.live("a quick batch queued behind a task that turns out long gives way: a higher-priority arrival still starts first, the attempt uncounted", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const file = path.join(dir, "marks")
      const queue = yield* TaskQueue
      // Both types measured quick: a batch of them may wait behind one another (pipelining).
      for (let i = 0; i < 3; i++) {
        yield* queue.await(Nap, yield* queue.submit(Nap, { ms: 1 }))
        yield* queue.await(Mark, yield* queue.submit(Mark, { file: path.join(dir, "warm"), mark: "warm" }))
      }
      const long = yield* queue.submit(Nap, { ms: 1500 })
      yield* untilRunning(long)
      const low = yield* queue.submit(Mark, { file, mark: "low" }, { priority: "low" })
      const high = yield* queue.submit(Mark, { file, mark: "high" }, { priority: "high" })
      yield* queue.await(Mark, low)
      yield* queue.await(Mark, high)
      expect(marks(file)).toStrictEqual(["high", "low"])
      const [l, h] = [yield* queue.get(low), yield* queue.get(high)]
      expect([l.attempt, l.errors, h.attempt]).toStrictEqual([1, [], 1])
    }).pipe(Effect.provide(oneThread)), 60_000)

  it.live("one handler crashing its thread: while the thread is replaced, health is never offline", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const observed = new Set<string>()
      const watcher = yield* Effect.fork(
        Effect.all([queue.stats, queue.health]).pipe(
          Effect.tap(([stats, health]) =>
            Effect.sync(() => observed.add(`${stats.workers.map((w) => w.state).join(",")} ${health.level}`))
          ),
          Effect.repeat(Schedule.spaced("10 millis"))
        )
      )
      // Attempt 1 exits its thread; the retry runs on the replacement.
      const id = yield* queue.submit(Exit, { n: 1 })
      expect(yield* queue.await(Exit, id)).toBe(2)
      yield* Fiber.interrupt(watcher)
      expect([...observed].some((s) => s.startsWith("starting"))).toBe(true)
      expect([...observed].filter((s) => s.includes("offline"))).toStrictEqual([])
    }).pipe(Effect.provide(Troupe.layer({ database: path.join(tempDir(), "tasks.db"), handlersModule, workers: 1 }))), 60_000)

  it.live("a CPU-bound handler that never yields to timers keeps its lease: it runs once, and its thread reads busy, never stale or offline", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      // Leases far shorter than the work: only renewals by the main thread keep them.
      const id = yield* queue.submit(Spin, { ms: 2500 }, { retry: { maxAttempts: 3 } })
      yield* untilRunning(id)
      const observed = new Set<string>()
      const watcher = yield* Effect.fork(
        Effect.all([queue.stats, queue.health]).pipe(
          Effect.tap(([stats, health]) =>
            Effect.sync(() => observed.add(`${stats.workers.map((w) => w.state).join(",")} ${health.level}`))
          ),
          Effect.repeat(Schedule.spaced("50 millis"))
        )
      )
      yield* queue.await(Spin, id)
      yield* Fiber.interrupt(watcher)
      const task = yield* queue.get(id)
      expect([task.status, task.attempt, task.errors]).toStrictEqual(["completed", 1, []])
      expect([...observed].filter((s) => s.includes("stale") || s.includes("offline"))).toStrictEqual([])
      expect([...observed].some((s) => s.startsWith("busy"))).toBe(true)
    }).pipe(Effect.provide(Troupe.layer({
      database: path.join(tempDir(), "tasks.db"),
      handlersModule,
      workers: 1,
      leaseDuration: "300 millis",
      pollInterval: "100 millis",
      staleAfter: "500 millis"
    }))), 60_000)
})
