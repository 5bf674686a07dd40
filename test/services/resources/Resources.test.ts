import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import type * as TaskId from "../../../src/domain/TaskId.js"
import * as TroupeTest from "../../../src/runtime/TroupeTest.js"
import * as MemoryPressureModule from "../../../src/services/resources/MemoryPressure.js"
import { MemoryPressure } from "../../../src/services/resources/MemoryPressure.js"
import * as Governor from "../../../src/services/resources/ResourceGovernor.js"
import { ResourceGovernor } from "../../../src/services/resources/ResourceGovernor.js"
import * as SystemMetrics from "../../../src/services/resources/SystemMetrics.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { advance } from "../../support/clock.js"

// Admission by declared resources, end to end on the test kit (TestClock).

const starts = new Map<string, number>()
const Job = TaskDefinition.make("job", {
  payload: Schema.Struct({ name: Schema.String, ms: Schema.Number }),
  retry: { maxAttempts: 1 },
  execution: "fiber"
})
const handlers = Handlers.make(
  Job.handler(({ ms, name }) =>
    Effect.gen(function*() {
      starts.set(name, yield* Clock.currentTimeMillis)
      if (name.startsWith("die")) return yield* Effect.die("boom")
      yield* Effect.sleep(Duration.millis(ms))
    }))
)


const kit = TroupeTest.layer(handlers, { fiberConcurrency: 50, cpu: 4, memoryMb: 1000, gpu: 0 })

const job = (name: string, ms: number, resources: { cpu?: number; memoryMb?: number } | undefined, priority: "low" | "normal" | "high" = "normal") => ({
  definition: Job,
  payload: { name, ms },
  options: { priority, ...(resources === undefined ? {} : { resources }) }
})

describe("resource admission", () => {
  it.effect("admits in priority order with mixed requirements; the best waiting task holds a reservation, others backfill only around it", () =>
    Effect.gen(function*() {
      starts.clear()
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      yield* queue.submitMany([
        job("A", 100, { cpu: 2 }, "high"),
        job("B", 100, { cpu: 3 }),
        job("C", 100, { cpu: 1 }),
        job("D", 100, undefined, "low"),
        job("E", 100, { memoryMb: 800 }, "low")
      ])
      yield* queue.resume({ queue: true })
      yield* advance("50 millis")
      // A fits; B does not (2 cpu left) and reserves 3; C would take cpu B waits for; D needs
      // nothing; E needs only memory, which B leaves free.
      expect([...starts.keys()].sort()).toStrictEqual(["A", "D", "E"])
      yield* advance("100 millis")
      expect(starts.get("B")).toBe(100)
      expect(starts.get("C")).toBe(100)
      yield* advance("200 millis")
      const governor = yield* ResourceGovernor
      expect(yield* governor.available).toStrictEqual({ cpu: 4, memoryMb: 1000, gpu: 0 })
    }).pipe(Effect.provide(kit)))

  it.effect("a large high-priority task is not starved by a stream of small low-priority ones", () =>
    Effect.gen(function*() {
      starts.clear()
      const queue = yield* TaskQueue
      // Small tasks (1 cpu, 100 ms) arrive every 20 ms: alone they keep all 4 cpus busy.
      const producer = yield* Effect.fork(Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) =>
        Effect.zipRight(queue.submitMany([job(`small-${i}`, 100, { cpu: 1 }, "low")]), Effect.sleep("20 millis")), { discard: true }))
      yield* advance("300 millis")
      const bigSubmittedAt = yield* Clock.currentTimeMillis
      yield* queue.submitMany([job("big", 100, { cpu: 4 }, "high")])
      yield* advance("2 seconds")
      yield* Fiber.interrupt(producer)
      const bigStart = starts.get("big")!
      // It started once the small tasks running at its arrival ended (≤ 100 ms)…
      expect(bigStart - bigSubmittedAt).toBeLessThanOrEqual(110)
      // …and no small task started while it waited.
      const passed = [...starts].filter(([name, at]) => name.startsWith("small") && at > bigSubmittedAt && at < bigStart)
      expect(passed).toStrictEqual([])
    }).pipe(Effect.provide(kit)))

  it.effect("a requirement larger than the capacity is rejected at submit, nothing stored", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const error = yield* Effect.flip(queue.submitMany([job("ok", 10, { cpu: 1 }), job("huge", 10, { cpu: 8 })]))
      expect(error._tag).toBe("ResourceUnsatisfiable")
      expect(error.message).toContain("could never start")
      const invalid = yield* Effect.flip(queue.submit(Job, { name: "neg", ms: 1 }, { resources: { cpu: -1 } }))
      expect(invalid._tag).toBe("InvalidPayload")
      expect(yield* queue.list({ limit: 10 })).toStrictEqual([])
    }).pipe(Effect.provide(kit)))

  it.effect("resource accounting returns to zero after cancels, timeouts and crashes", () =>
    Effect.gen(function*() {
      starts.clear()
      const queue = yield* TaskQueue
      const governor = yield* ResourceGovernor
      const [cancelled, timedOut, died, done] = yield* queue.submitMany([
        job("cancel-me", 60_000, { cpu: 2 }),
        { ...job("slow", 60_000, { cpu: 1, memoryMb: 500 }), options: { resources: { cpu: 1, memoryMb: 500 }, timeout: "1 second" } },
        job("die", 10, { memoryMb: 400 }),
        job("fine", 10, { cpu: 1 })
      ])
      yield* advance("100 millis")
      expect((yield* governor.available).cpu).toBe(1)
      yield* queue.cancel(cancelled!)
      yield* advance("2 seconds", "50 millis")
      const statuses = yield* Effect.forEach([cancelled, timedOut, died, done] as Array<TaskId.TaskId>, (id) => Effect.map(queue.get(id), (t) => t.status))
      expect(statuses).toStrictEqual(["cancelled", "failed", "failed", "completed"])
      expect(yield* governor.available).toStrictEqual({ cpu: 4, memoryMb: 1000, gpu: 0 })
    }).pipe(Effect.provide(kit)))
})

describe("memory pressure", () => {
  // One reading per 2-second sample: calm, then 150 MiB free (under the 300 MiB minimum) for
  // three samples, then calm again.
  const calm = { hostTotalMb: 16_000, hostFreeMb: 12_000 }
  const tight = { hostTotalMb: 16_000, hostFreeMb: 150 }
  const metrics = SystemMetrics.layerScripted([calm, tight, tight, tight, calm])

  it.effect("no task is admitted while free memory is below the minimum; admission reopens after a calm stretch", () =>
    Effect.gen(function*() {
      starts.clear()
      const queue = yield* TaskQueue
      // t=0 calm; t=2 s the second sample finds memory tight.
      yield* advance("2100 millis", "100 millis")
      const health = yield* queue.health
      expect(health.level).toBe("warning")
      expect(health.reasons.join("; ")).toContain("memory pressure")
      yield* queue.submitMany([job("during", 10, undefined), job("during-cpu", 10, { cpu: 1 })])
      yield* advance("5 seconds", "100 millis")
      expect(starts.size).toBe(0)
      // Calm from t=8 s; admission reopens after three calm samples (t=12 s).
      yield* advance("6 seconds", "100 millis")
      expect([...starts.keys()].sort()).toStrictEqual(["during", "during-cpu"])
      expect(starts.get("during")!).toBeGreaterThanOrEqual(12_000)
      const pressure = yield* MemoryPressure
      const timeline = yield* pressure.timeline
      expect(timeline.map((c) => [c.at, c.underPressure])).toStrictEqual([[2000, true], [12_000, false]])
      expect((yield* queue.health).level).toBe("healthy")
    }).pipe(Effect.provide(TroupeTest.layer(handlers, { cpu: 4, memoryMb: 1000, gpu: 0, workers: 1 }, { metrics }))))
})

describe("MemoryPressure controller", () => {
  it.effect("shrinks the pool target a worker per sample under pressure and grows it back step by step (hysteresis)", () =>
    Effect.gen(function*() {
      const targets: Array<number> = []
      const pressure = yield* MemoryPressureModule.make({
        threshold: 0.85,
        minFreeMb: 300,
        relief: 0.75,
        calmSamples: 2,
        minWorkers: 1,
        maxWorkers: 4,
        sampleEvery: "1 second",
        resize: (n) => Effect.sync(() => targets.push(n))
      })
      const governor = yield* ResourceGovernor
      // 10 GiB limit: 50%, then 90% for four samples, 80% (above relief) twice, then 50%.
      yield* advance("14 seconds", "500 millis")
      expect(targets).toStrictEqual([3, 2, 1, 2, 3, 4])
      const timeline = yield* pressure.timeline
      expect(timeline.map((c) => [c.at / 1000, c.underPressure, c.target])).toStrictEqual([
        [1, true, 3], [2, true, 2], [3, true, 1],
        [8, false, 1], // two calm samples (7, 8 s) reopen admission
        [10, false, 2], [12, false, 3], [14, false, 4]
      ])
      expect(yield* governor.admitting).toBe(true)
    }).pipe(
      Effect.scoped,
      Effect.provide(Governor.layer({ cpu: 4, memoryMb: 1000, gpu: 0 })),
      Effect.provide(SystemMetrics.layerScripted([
        ...[0.5, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8].map((share) => ({ cgroupMaxMb: 10_240, cgroupCurrentMb: 10_240 * share })),
        { cgroupMaxMb: 10_240, cgroupCurrentMb: 5120 }
      ]))
    ))
})
