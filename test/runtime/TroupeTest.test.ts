import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { fileURLToPath } from "node:url"
// The test kit as a user would use it, from the compiled package (npm test builds first), with
// their own handlers module on real worker threads.
import * as TroupeTest from "../../dist/src/runtime/TroupeTest.js"
import { TaskQueue } from "../../dist/src/services/queue/TaskQueue.js"
import handlers, { Where } from "../../dist/test/fixtures/handlers.js"

const handlersModule = fileURLToPath(new URL("../../dist/test/fixtures/handlers.js", import.meta.url))

describe("TroupeTest", () => {
  it.effect("runs thread types on real worker threads on request, with TestClock over delays", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      expect(yield* queue.await(Where, yield* queue.submit(Where, {}))).toBe("thread")
      const later = yield* queue.submit(Where, {}, { delay: "1 minute" })
      const result = yield* Effect.fork(queue.await(Where, later))
      yield* TestClock.adjust("59 seconds")
      expect((yield* queue.get(later)).status).toBe("delayed")
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(result)).toBe("thread")
    }).pipe(Effect.provide(TroupeTest.layer(handlers, {}, { threads: { handlersModule } }))), 60_000)

  it.effect("runs every type in-process by default", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      expect(yield* queue.await(Where, yield* queue.submit(Where, {}))).toBe("main")
    }).pipe(Effect.provide(TroupeTest.layer(handlers))))
})
