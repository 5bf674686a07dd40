import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { freshDatabase } from "../support/postgres.js"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { cli, operateHandlers, startServer } from "../support/process.js"

const producer = fileURLToPath(new URL("../../dist/test/fixtures/producer.js", import.meta.url))

// `troupe start --database postgres://…` as an operator runs it: a real process on a database
// of its own, the CLI against it, and a second start on the same database finding the tasks.

describe("troupe start on PostgreSQL", () => {
  it("runs tasks from the CLI, and a new process on the same database finds them", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const url = Redacted.value(await Effect.runPromise(Scope.extend(freshDatabase, scope)))
      const args = ["--handlers", operateHandlers, "--database", url, "--num-workers", "1"]
      const first = await startServer(args)
      let id: string
      try {
        expect(first.output()).toContain(`store ${url}`)
        const ran = await cli(first.url, ["submit", "echo", `{"n": 5}`, "--wait", "--json"])
        expect(ran.code).toBe(0)
        const done = JSON.parse(ran.stdout.slice(ran.stdout.indexOf("{\n"))) as { id: string; status: string; result: unknown }
        expect([done.status, done.result]).toEqual(["completed", { n: 5 }])
        id = done.id
      } finally {
        first.process.kill("SIGTERM")
        await first.exited
      }
      const second = await startServer(args)
      try {
        const status = await cli(second.url, ["status", id, "--json"])
        expect(JSON.parse(status.stdout)).toMatchObject({ id, status: "completed", result: { n: 5 } })
      } finally {
        second.process.kill("SIGTERM")
        await second.exited
      }
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 60_000)

  // Nodes hear each other (LISTEN/NOTIFY): a node that would poll only once an hour starts a
  // task submitted through another node at once. The bound is the test's timeout.
  it("a node hears of work another node stored without waiting for its poll", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const url = Redacted.value(await Effect.runPromise(Scope.extend(freshDatabase, scope)))
      const worker = await startServer(["--handlers", operateHandlers, "--database", url, "--num-workers", "1"], { TROUPE_POLL_INTERVAL: "1 hour" })
      try {
        // Another process, with no handlers, stores a task and exits.
        const id = execFileSync(process.execPath, [producer, url, "8"], { encoding: "utf8" }).trim()
        const watched = await cli(worker.url, ["watch", id, "--json"])
        expect(watched.code).toBe(0)
        const status = await cli(worker.url, ["status", id, "--json"])
        expect(JSON.parse(status.stdout)).toMatchObject({ id, status: "completed", result: { n: 8 } })
      } finally {
        worker.process.kill("SIGTERM")
        await worker.exited
      }
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 30_000)
})
