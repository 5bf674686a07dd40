import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { AttemptError, TaskDefect } from "../src/domain/TaskErrors.js"
import * as TaskId from "../src/domain/TaskId.js"
import { TaskStore } from "../src/services/TaskStore.js"
import { layerMemory } from "../src/services/TaskStoreMemory.js"
import { layerSqlite } from "../src/services/TaskStoreSqlite.js"
import { newTask, suite } from "./TaskStoreSuite.js"

const tempFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "troupe-store-")), "tasks.db")

suite("memory", () => layerMemory)
suite("sqlite", () => layerSqlite({ filename: tempFile() }))

/** Runs `body` against the file with a store that is closed afterwards. */
const withStore = <A, E>(filename: string, body: Effect.Effect<A, E, TaskStore>) =>
  Effect.scoped(Effect.flatMap(Layer.build(layerSqlite({ filename })), (ctx) => Effect.provide(body, ctx)))

describe("SQLite store", () => {
  it.effect("a pending retry survives closing and reopening the file", () =>
    Effect.gen(function*() {
      const filename = tempFile()
      const id = TaskId.unsafeMake("task-1")
      yield* withStore(filename, Effect.gen(function*() {
        const store = yield* TaskStore
        yield* store.insert([newTask(1)])
        yield* store.claim([id], { owner: "a", token: "t1", expiresAt: 9999, now: 2000 })
        yield* store.fail([{
          id,
          token: "t1",
          error: new AttemptError({ attempt: 1, at: 2500, error: new TaskDefect({ reason: "defect", message: "boom" }) }),
          next: { _tag: "Retry", runAt: 60_000, rank: 59_000, priority: 10 }
        }], 2500)
      }))
      const reopened = yield* withStore(filename, Effect.flatMap(TaskStore, (store) => store.get(id)))
      expect([reopened.status, reopened.runAt, reopened.attempt, reopened.errors.length]).toStrictEqual(["retrying", 60_000, 1, 1])
    }))

  it.effect("concurrent writes are group-committed and all durable after reopening", () =>
    Effect.gen(function*() {
      const filename = tempFile()
      yield* withStore(filename, Effect.gen(function*() {
        const store = yield* TaskStore
        yield* Effect.forEach(Array.from({ length: 50 }, (_, f) => f), (f) =>
          store.insert(Array.from({ length: 20 }, (_, i) => newTask(f * 100 + i))), { concurrency: "unbounded", discard: true })
      }))
      const counts = yield* withStore(filename, Effect.flatMap(TaskStore, (store) => store.counts))
      expect(counts.pending).toBe(1000)
    }))

  it.effect("reopening runs no migration twice", () =>
    Effect.gen(function*() {
      const filename = tempFile()
      yield* withStore(filename, Effect.flatMap(TaskStore, (s) => s.insert([newTask(1)])))
      yield* withStore(filename, Effect.flatMap(TaskStore, (s) => s.insert([newTask(2)])))
      const all = yield* withStore(filename, Effect.flatMap(TaskStore, (s) => s.list({ limit: 10 })))
      expect(all.map((t) => t.id)).toStrictEqual(["task-1", "task-2"])
    }))
})
