import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { AttemptError, TaskDefect } from "../../../src/domain/TaskErrors.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import * as GroupCommit from "../../../src/services/store/sqlite/GroupCommit.js"
import { migrate, migrations } from "../../../src/services/store/sqlite/migrations.js"
import * as Statements from "../../../src/services/store/sqlite/statements.js"
import * as Sql from "../../../src/services/store/sqlite/sql.js"
import { TaskStore } from "../../../src/services/store/TaskStore.js"
import { layerMemory, layerSqlite } from "../../../src/services/store/TaskStoreSqlite.js"
import { lifecycleSuite } from "./LifecycleStoreSuite.js"
import { newTask, suite } from "./TaskStoreSuite.js"

/** A temporary directory, removed with the scope. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "troupe-store-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)
const tempFile = Effect.map(tempDir, (dir) => path.join(dir, "tasks.db"))

/** Runs `body` against the file with a store that is closed afterwards. */
const withStore = <A, E>(filename: string, body: Effect.Effect<A, E, TaskStore>) =>
  Effect.scoped(Effect.flatMap(Layer.build(layerSqlite({ filename })), (ctx) => Effect.provide(body, ctx)))

const retryError = new AttemptError({ attempt: 1, at: 2500, error: new TaskDefect({ reason: "defect", message: "boom" }) })

describe("SQLite store", () => {
  it.scoped("a pending retry survives closing and reopening the file", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      const id = TaskId.unsafeMake("task-1")
      yield* withStore(filename, Effect.gen(function*() {
        const store = yield* TaskStore
        yield* store.insert([newTask(1)])
        yield* store.claim([id], { owner: "a", token: "t1", expiresAt: 9999, now: 2000 })
        yield* store.fail([{ id, token: "t1", error: retryError, next: { _tag: "Retry", runAt: 60_000, rank: 59_000, priority: 8 } }], 2500)
      }))
      yield* withStore(filename, Effect.gen(function*() {
        const store = yield* TaskStore
        const task = yield* store.get(id)
        expect([task.status, task.runAt, task.rank, task.priority, task.attempt, task.lease, task.errors])
          .toStrictEqual(["retrying", 60_000, 59_000, 8, 1, null, [retryError]])
        expect(yield* store.nextWakeAt).toStrictEqual(Option.some(60_000))
        expect(yield* store.wakeDue(60_000)).toBe(1)
      }))
      const woken = yield* withStore(filename, Effect.flatMap(TaskStore, (store) => store.get(id)))
      expect(woken.status).toBe("pending")
    }))

  it.scoped("concurrent writes are group-committed and all durable after reopening", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      const results = yield* withStore(filename, Effect.gen(function*() {
        const store = yield* TaskStore
        return yield* Effect.forEach(Array.from({ length: 50 }, (_, f) => f), (f) =>
          store.insert(Array.from({ length: 20 }, (_, i) => newTask(f * 100 + i))), { concurrency: "unbounded" })
      }))
      const inserted = results.flat()
      expect(inserted.every((r) => r.created)).toBe(true)
      expect(new Set(inserted.map((r) => r.seq)).size).toBe(1000)
      const counts = yield* withStore(filename, Effect.flatMap(TaskStore, (store) => store.counts))
      expect(counts.pending).toBe(1000)
    }))

  it.scoped("reopening runs no migration twice", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      yield* withStore(filename, Effect.flatMap(TaskStore, (s) => s.insert([newTask(1)])))
      yield* withStore(filename, Effect.flatMap(TaskStore, (s) => s.insert([newTask(2)])))
      const all = yield* withStore(filename, Effect.flatMap(TaskStore, (s) => s.list({ limit: 10 })))
      expect(all.map((t) => t.id)).toStrictEqual(["task-1", "task-2"])
      const [applied, recorded] = yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.zip(migrate, sql.unsafe<{ readonly id: number }>("SELECT id FROM troupe_migrations ORDER BY id"))),
        SqliteClient.layer({ filename })
      )
      expect(applied).toStrictEqual([])
      expect(recorded.map((r) => r.id)).toStrictEqual(migrations.map(([id]) => id))
    }))

  it.scoped("the key-head check of a claim reads the key's unfinished tasks only (tasks_key), not its whole history", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      yield* withStore(filename, Effect.void)
      const plan = yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.unsafe<{ readonly detail: string }>(
            `EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE ${Sql.from("claim")} AND ${Sql.keyHead("tasks", Sql.sqliteFunctions)} ORDER BY rank, seq LIMIT 10`
          )),
        SqliteClient.layer({ filename })
      )
      // Without statistics SQLite took tasks_key_list (every keyed task, for list by key) as readily.
      expect(plan.map((r) => r.detail)).toContain("SEARCH u USING INDEX tasks_key (key=?)")
    }))

  it.scoped("a failing write fails alone: its partial changes roll back, the others in its transaction commit", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      const [good1, bad, good2, count] = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* migrate
        const group = yield* GroupCommit.make()
        // Inserts a row, then fails: the row must not survive. Whether the three writes share a
        // transaction (they usually do) or not, the outcome is the same.
        const failing = Effect.zipRight(Statements.insert([newTask(2)]), Sql.run("INSERT INTO no_such_table VALUES (1)"))
        const outcomes = yield* Effect.all([
          Effect.either(group.write(Statements.insert([newTask(1)]))),
          Effect.either(group.write(failing)),
          Effect.either(group.write(Statements.insert([newTask(3)])))
        ], { concurrency: "unbounded" })
        const rows = yield* sql.unsafe<{ readonly id: string }>("SELECT id FROM tasks ORDER BY id")
        return [...outcomes, rows.map((r) => r.id)] as const
      }).pipe(Effect.provide(SqliteClient.layer({ filename })))
      expect([good1._tag, bad._tag, good2._tag]).toStrictEqual(["Right", "Left", "Right"])
      if (bad._tag === "Left") {
        expect(bad.left._tag).toBe("StoreError")
        expect(bad.left.message).toContain("no_such_table")
      }
      expect(count).toStrictEqual(["task-1", "task-3"])
    }))

  it.scoped("a write after the store closed fails with StoreError instead of waiting", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile
      const store = yield* Effect.scoped(Effect.map(Layer.build(layerSqlite({ filename })), (ctx) => Context.get(ctx, TaskStore)))
      const error = yield* Effect.flip(store.insert([newTask(1)]))
      expect(error._tag).toBe("StoreError")
    }))

  it.scoped("an unopenable file is a StoreError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* Effect.flip(withStore(path.join(dir, "missing", "tasks.db"), TaskStore))
      expect(error._tag).toBe("StoreError")
    }))
})

suite("sqlite :memory:", layerMemory)
suite("sqlite", Layer.unwrapScoped(Effect.map(tempFile, (filename) => layerSqlite({ filename }))))
lifecycleSuite("sqlite :memory:", layerMemory)
lifecycleSuite("sqlite", Layer.unwrapScoped(Effect.map(tempFile, (filename) => layerSqlite({ filename }))))
