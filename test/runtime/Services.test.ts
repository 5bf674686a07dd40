import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
// Handlers with services, as a user writes them: a handlers module that provides a per-thread
// service (compiled by the build, loaded by real worker threads), and in-process handlers that
// use the application's own service.
import * as TaskDefinition from "../../dist/src/domain/TaskDefinition.js"
import type { Services } from "../../dist/src/runtime/compose.js"
import type { TroupeStartError } from "../../dist/src/runtime/compose.js"
import * as TroupeTest from "../../dist/src/runtime/TroupeTest.js"
import { TaskQueue } from "../../dist/src/services/queue/TaskQueue.js"
import * as Handlers from "../../dist/src/workers/Handlers.js"
import handlers, { Tally } from "../../dist/test/fixtures/servicesHandlers.js"

const handlersModule = fileURLToPath(new URL("../../dist/test/fixtures/servicesHandlers.js", import.meta.url))

describe("handlers with services", () => {
  it.effect("a per-thread service: built once per worker thread, reused by its tasks, released when the thread is recycled or stops", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-services-"))
      const log = path.join(dir, "log")
      process.env["TROUPE_SERVICES_LOG"] = log
      const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [])
      const results = yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(TroupeTest.layer(handlers, { recycleAfterTasks: 4 }, { threads: { handlersModule, workers: 1 } }))
        const queue = Context.get(ctx, TaskQueue)
        const out: Array<{ counter: string; n: number }> = []
        // One at a time, so the thread's count of tasks decides when it is recycled.
        for (let i = 0; i < 10; i++) out.push(yield* queue.await(Tally, yield* queue.submit(Tally, { n: i })))
        return out
      }))
      // Three threads in turn (recycled after 4 tasks each): each built the counter once and
      // counted its own tasks from 1.
      const counters = [...new Set(results.map((r) => r.counter))]
      expect(counters.length).toBe(3)
      expect(results.map((r) => r.n)).toStrictEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2])
      expect(counters.every((c) => c.startsWith("thread-"))).toBe(true)
      // Each acquired once and released once: the recycled ones when they were renewed, the
      // last when the runtime stopped.
      const seen = lines()
      for (const c of counters) {
        expect(seen.filter((l) => l === `acquired ${c}`).length).toBe(1)
        expect(seen.filter((l) => l === `released ${c}`).length).toBe(1)
        expect(seen.indexOf(`acquired ${c}`)).toBeLessThan(seen.indexOf(`released ${c}`))
      }
      fs.rmSync(dir, { recursive: true, force: true })
    }), 60_000)

  it.effect("in the test kit (every type in-process) the module's services are built in this process", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const first = yield* queue.await(Tally, yield* queue.submit(Tally, { n: 1 }))
      const second = yield* queue.await(Tally, yield* queue.submit(Tally, { n: 2 }))
      expect([first.counter.startsWith("main#"), first.counter === second.counter, [first.n, second.n]]).toStrictEqual([true, true, [1, 2]])
    }).pipe(Effect.provide(Layer.unwrapEffect(Effect.sync(() => {
      // No acquisition log for this one.
      delete process.env["TROUPE_SERVICES_LOG"]
      return TroupeTest.layer(handlers)
    })))))

  class Greetings extends Context.Tag("test/Greetings")<Greetings, { readonly greet: (name: string) => string }>() {}
  const Greet = TaskDefinition.make("greet", { payload: Schema.Struct({ name: Schema.String }), success: Schema.String, execution: "fiber" })
  const own = Handlers.make(Greet.handler(({ name }) => Effect.map(Greetings, (g) => g.greet(name))))

  it.effect("in-process handlers use the application's service: the runtime's layer requires it", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      expect(yield* queue.await(Greet, yield* queue.submit(Greet, { name: "Ada" }))).toBe("hello, Ada")
    }).pipe(Effect.provide(TroupeTest.layer(own).pipe(Layer.provide(Layer.succeed(Greetings, { greet: (name) => `hello, ${name}` }))))))

  it("the runtime's layer says what its handlers still require", () => {
    expectTypeOf(TroupeTest.layer(own)).toEqualTypeOf<Layer.Layer<Services, TroupeStartError, Greetings>>()
    expectTypeOf(TroupeTest.layer(Handlers.provide(own, Layer.succeed(Greetings, { greet: (n) => n })))).toEqualTypeOf<Layer.Layer<Services, TroupeStartError>>()
  })
})
