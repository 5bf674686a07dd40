import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { freshDatabase } from "../support/postgres.js"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Server } from "../support/process.js"
import { cli, operateHandlers, startServer } from "../support/process.js"

const producer = fileURLToPath(new URL("../../dist/test/fixtures/producer.js", import.meta.url))

// `troupe start --database postgres://…` as an operator runs it: a real process on a database
// of its own, the CLI against it, and a second start on the same database finding the tasks.

/** Runs `body` with the URL of a new database, dropped afterwards. */
const onFreshDatabase = async (body: (url: string) => Promise<void>) => {
  const scope = Effect.runSync(Scope.make())
  try {
    await body(Redacted.value(await Effect.runPromise(Scope.extend(freshDatabase, scope))))
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Runs `body` against a `troupe start` with these arguments, stopped afterwards. */
const withNode = async <A>(args: ReadonlyArray<string>, env: Record<string, string>, body: (node: Server) => Promise<A>): Promise<A> => {
  const node = await startServer(args, env)
  try {
    return await body(node)
  } finally {
    node.process.kill("SIGTERM")
    await node.exited
  }
}

describe("troupe start on PostgreSQL", () => {
  it("runs tasks from the CLI, and a new process on the same database finds them", () =>
    onFreshDatabase(async (url) => {
      const args = ["--handlers", operateHandlers, "--database", url, "--num-workers", "1"]
      const id = await withNode(args, {}, async (first) => {
        expect(first.output().replace(/\s+/g, " ")).toContain(`store ${url}`)
        const ran = await cli(first.url, ["submit", "echo", `{"n": 5}`, "--wait", "--json"])
        expect(ran.code).toBe(0)
        const done = JSON.parse(ran.stdout.slice(ran.stdout.indexOf("{\n"))) as { id: string; status: string; result: unknown }
        expect([done.status, done.result]).toEqual(["completed", { n: 5 }])
        return done.id
      })
      await withNode(args, {}, async (second) => {
        const status = await cli(second.url, ["status", id, "--json"])
        expect(JSON.parse(status.stdout)).toMatchObject({ id, status: "completed", result: { n: 5 } })
      })
    }), 60_000)

  // Nodes hear each other (LISTEN/NOTIFY): a node that would poll only once an hour starts a
  // task another process stored at once. The bound is the test's timeout.
  it("a node hears of work another node stored without waiting for its poll", () =>
    onFreshDatabase((url) =>
      withNode(["--handlers", operateHandlers, "--database", url, "--num-workers", "1"], { TROUPE_POLL_INTERVAL: "1 hour" }, async (worker) => {
        // Another process, with no handlers, stores a task and exits.
        const id = execFileSync(process.execPath, [producer, url, "8"], { encoding: "utf8" }).trim()
        const watched = await cli(worker.url, ["watch", id, "--json"])
        expect(watched.code).toBe(0)
        const status = await cli(worker.url, ["status", id, "--json"])
        expect(JSON.parse(status.stdout)).toMatchObject({ id, status: "completed", result: { n: 8 } })
      })), 30_000)
})
