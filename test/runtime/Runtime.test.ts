import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
// The whole runtime, compiled (npm test builds first) so worker threads find their entry:
// a real SQLite file and real worker threads.
import * as Troupe from "../../dist/src/runtime/Troupe.js"
import { TaskQueue } from "../../dist/src/services/queue/TaskQueue.js"
import { AsyncThrow, Echo, Exit, Oom } from "../../dist/test/fixtures/handlers.js"
import * as TroupeConfig from "../../src/runtime/TroupeConfig.js"

const handlersModule = fileURLToPath(new URL("../../dist/test/fixtures/handlers.js", import.meta.url))
const database = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "troupe-runtime-")), "tasks.db")

describe("runtime on SQLite and worker threads", () => {
  it.live("a thread that crashes fails only its own attempt: the retry completes and concurrent tasks succeed", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const crashers = yield* queue.submitMany([
        { definition: Exit, payload: { n: 1 } },
        { definition: AsyncThrow, payload: { n: 2 } },
        { definition: Oom, payload: { n: 3 } }
      ])
      const echoes = yield* queue.submitMany(Array.from({ length: 50 }, (_, n) => ({ definition: Echo, payload: { n } })))
      const results = yield* Effect.forEach(echoes, (id) => queue.await(Echo, id), { concurrency: "unbounded" })
      expect(results.map((r) => r.n)).toStrictEqual(Array.from({ length: 50 }, (_, n) => n))
      // Tasks that shared a thread with a crasher were re-run, never failed.
      const echoTasks = yield* Effect.forEach(echoes, (id) => queue.get(id))
      expect(echoTasks.flatMap((t) => t.errors)).toStrictEqual([])
      const [exit, asyncThrow, oom] = yield* Effect.all([
        queue.await(Exit, crashers[0]!),
        queue.await(AsyncThrow, crashers[1]!),
        queue.await(Oom, crashers[2]!)
      ], { concurrency: "unbounded" })
      expect([exit, asyncThrow, oom]).toStrictEqual([2, 2, 2])
      for (const id of crashers) {
        const task = yield* queue.get(id)
        expect(task.status).toBe("completed")
        expect(task.errors.length).toBe(1)
      }
      // A thread that passed its heap limit was replaced and its task retried: WorkerOutOfMemory.
      const reasons = yield* Effect.forEach(crashers, (id) =>
        Effect.map(queue.get(id), (t) => {
          const error = t.errors[0]?.error
          return error?._tag === "WorkerCrashed" ? error.reason : error?._tag
        }))
      expect(reasons).toStrictEqual(["exit", "error", "WorkerOutOfMemory"])
    }).pipe(Effect.provide(Troupe.layer({ database: database(), handlersModule, workers: 2, heapLimitMb: 64 }))), 60_000)

  it.live("a handlers module that does not exist stops start-up with a clear error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Troupe.layer({ database: database(), handlersModule: "/nope/handlers.js" }))))
      expect(error._tag).toBe("TroupeStartError")
      expect(error.message).toContain("/nope/handlers.js")
    }))
})

describe("TroupeConfig", () => {
  it("parses worker counts: auto, N, MIN-MAX", () => {
    expect(TroupeConfig.parseWorkers("auto")).toBe("auto")
    expect(TroupeConfig.parseWorkers("4")).toBe(4)
    expect(TroupeConfig.parseWorkers("2-8")).toStrictEqual({ min: 2, max: 8 })
    expect(TroupeConfig.parseWorkers("0")).toBeUndefined()
    expect(TroupeConfig.parseWorkers("8-2")).toBeUndefined()
  })

  it.effect("reads TROUPE_* variables over the defaults", () =>
    Effect.gen(function*() {
      const config = yield* TroupeConfig.config
      expect(config.database).toBe("/tmp/x.db")
      expect(config.workers).toStrictEqual({ min: 1, max: 3 })
      expect(Duration.toMillis(config.leaseDuration)).toBe(5000)
      expect(config.heapLimitMb).toBe(TroupeConfig.defaults.heapLimitMb)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([
      ["TROUPE_DATABASE", "/tmp/x.db"],
      ["TROUPE_WORKERS", "1-3"],
      ["TROUPE_LEASE_DURATION", "5 seconds"]
    ]), { pathDelim: "_" }))))

  it.effect("a bad value is a configuration error naming the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(TroupeConfig.config)
      expect(String(error)).toContain("WORKERS")
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TROUPE_WORKERS", "lots"]]), { pathDelim: "_" }))))
})
