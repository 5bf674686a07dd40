import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TaskId from "../../src/domain/TaskId.js"
import { TroupeClient } from "../../src/runtime/client/TroupeClient.js"
import * as Client from "../../src/runtime/client/TroupeClient.js"
import { Echo, Fail, Talk } from "../fixtures/operateHandlers.js"
import { serverForFile } from "../support/process.js"

// The typed client as another process uses it: a real `troupe start` (with a token) in its own
// process, this one submitting, awaiting and streaming with the task definitions' own types.

const server = serverForFile("troupe-client-", { TROUPE_TOKEN: "s3cret" })

const client = () => Client.layer({ url: server.url, token: "s3cret" })

describe("TroupeClient against a server in another process", () => {
  it.live("submit and await are typed by the definition: the decoded success, the handler's own typed failure", () =>
    Effect.gen(function*() {
      const troupe = yield* TroupeClient
      const id = yield* troupe.submit(Echo, { n: 7 }, { priority: "high", timeout: "30 seconds" })
      const result: { readonly n: number } = yield* troupe.await(Echo, id)
      expect(result).toEqual({ n: 7 })
      const failing = yield* troupe.submit(Fail, {})
      const failure = yield* Effect.flip(troupe.await(Fail, failing))
      expect(failure._tag).toBe("Nope")
      expect(failure.message).toBe("it never works")
      const task = yield* troupe.get(id)
      expect([task.status, task.priority, task.timeoutMs]).toEqual(["completed", 20, 30_000])
    }).pipe(Effect.provide(client())))

  it.live("the server's typed errors come back as themselves; a payload that does not match is refused before any call", () =>
    Effect.gen(function*() {
      const troupe = yield* TroupeClient
      const missing = yield* Effect.flip(troupe.get(TaskId.unsafeMake("no-such-task")))
      expect(missing._tag).toBe("TaskNotFound")
      const badDependency = yield* Effect.flip(troupe.submit(Echo, { n: 1 }, { dependsOn: ["no-such-task"] }))
      expect(badDependency._tag).toBe("InvalidDependency")
      const local = yield* Effect.flip(troupe.submit(Echo, { n: 1.5 }))
      expect(local._tag).toBe("InvalidPayload")
      const ids = yield* troupe.submitMany([{ definition: Echo, payload: { n: 1 } }, { definition: Talk, payload: { lines: 2 } }])
      expect(ids).toHaveLength(2)
      const watchedMissing = yield* Effect.flip(Stream.runDrain(troupe.watch(TaskId.unsafeMake("no-such-task"))))
      expect(watchedMissing._tag).toBe("TaskNotFound")
    }).pipe(Effect.provide(client())))

  it.live("streams: one task's events until it ends, its log lines, and the queue's counts, stats and workers", () =>
    Effect.gen(function*() {
      const troupe = yield* TroupeClient
      const id = yield* troupe.submit(Talk, { lines: 4 })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(troupe.watch(id)))
      expect(events.at(-1)).toMatchObject({ _tag: "StatusChanged", id, status: "completed" })
      const lines = Chunk.toReadonlyArray(yield* Stream.runCollect(troupe.logs(id)))
      expect(lines.map((l) => [l.level, l.message])).toEqual([["info", "line 1"], ["warn", "line 2"], ["info", "line 3"], ["warn", "line 4"]])
      // Following an ended task's lines gives the stored ones, then the stream ends.
      const followed = Chunk.toReadonlyArray(yield* Stream.runCollect(troupe.logs(id, { follow: true })))
      expect(followed.map((l) => [l.attempt, l.n, l.message])).toEqual(lines.map((l) => [l.attempt, l.n, l.message]))
      expect((yield* troupe.counts).completed).toBeGreaterThan(0)
      const stats = yield* troupe.stats
      expect(stats.health.level).toMatch(/healthy|warning/)
      expect((yield* troupe.workers).length).toBe(2)
    }).pipe(Effect.provide(client())))

  it.live("a wrong token is a ClientError that says so", () =>
    Effect.gen(function*() {
      const troupe = yield* TroupeClient
      const refused = yield* Effect.flip(troupe.counts)
      expect(refused).toMatchObject({ _tag: "ClientError", reason: "Unauthorized" })
    }).pipe(Effect.provide(Client.layer({ url: server.url, token: "wrong" }))))
})
