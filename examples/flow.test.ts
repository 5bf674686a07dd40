/**
 * How an app tests its own task flows: @effect/vitest with troupe's test kit. TroupeTest.layer
 * runs every type in-process on an in-memory SQLite store (the same store as in production),
 * so TestClock drives retries, backoff and delays — no real waiting, no timing assertions.
 * (`npm test` runs this file; copy it next to your own handlers.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { TroupeTest } from "../src/index.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import handlers from "./handlers.js"
import { FlakyUpload, Report } from "./tasks.js"

// TestClock runs every sleep due on the way when it is adjusted, so the runtime's periodic
// duties (a poll each second, samples, heartbeats) each run at every step of a simulated day:
// spaced out here, as nothing else shares this in-memory store.
const slowDuties = {
  pollInterval: Duration.hours(1),
  leaseDuration: Duration.hours(3),
  nodeTimeout: Duration.hours(3),
  memorySampleEvery: Duration.hours(1),
  progressFlush: Duration.hours(1)
}

describe("the demo's flows, under TestClock", () => {
  it.effect("a flaky upload is retried with exponential backoff (200, 400 ms) and succeeds on its third attempt", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const upload = yield* queue.submit(FlakyUpload, { file: "report.pdf" })
      const done = yield* Effect.fork(queue.await(FlakyUpload, upload))
      // The first attempt fails at once; the retry waits 200 ms of the test's clock.
      yield* TestClock.adjust("199 millis")
      expect((yield* queue.get(upload)).status).toBe("retrying")
      yield* TestClock.adjust("1 milli")
      // Second attempt failed too: 400 ms more.
      yield* TestClock.adjust("400 millis")
      expect(yield* Fiber.join(done)).toStrictEqual({ attempts: 3 })
      expect((yield* queue.get(upload)).errors.map((e) => e.error._tag)).toStrictEqual(["HandlerFailure", "HandlerFailure"])
    }).pipe(Effect.provide(TroupeTest.layer(handlers))))

  it.effect("a report submitted for tomorrow waits as delayed until then", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const report = yield* queue.submit(Report, { docs: 3 }, { delay: "1 day" })
      yield* TestClock.adjust("23 hours")
      expect((yield* queue.get(report)).status).toBe("delayed")
      yield* TestClock.adjust("1 hour")
      expect(yield* queue.await(Report, report)).toStrictEqual({ docs: 3 })
    }).pipe(Effect.provide(TroupeTest.layer(handlers, slowDuties))))
})
