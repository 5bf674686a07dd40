import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TaskDefinition from "../../src/domain/TaskDefinition.js"
import * as JsonRpc from "../../src/runtime/api/JsonRpc.js"
import * as Methods from "../../src/runtime/api/Methods.js"
import * as Params from "../../src/runtime/api/Params.js"
import * as TroupeTest from "../../src/runtime/TroupeTest.js"
import { TaskQueue } from "../../src/services/queue/TaskQueue.js"
import * as Handlers from "../../src/workers/Handlers.js"

const Echo = TaskDefinition.make("echo", { payload: Schema.Struct({ n: Schema.Int }), success: Schema.Int, execution: "fiber" })
const kit = TroupeTest.layer(Handlers.make(Echo.handler(({ n }) => Effect.succeed(n))), { maxQueueSize: 2 })

const rpc = (body: unknown) => Methods.handleBody(typeof body === "string" ? body : JSON.stringify(body))

describe("JSON-RPC methods", () => {
  it.effect("submit and get go through TaskQueue; results are JSON", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      const submitted = yield* rpc({ jsonrpc: "2.0", id: 1, method: "submit", params: { type: "echo", payload: { n: 4 }, options: { priority: "high", delay: "1 second" } } })
      expect(submitted).toMatchObject({ id: 1, result: { id: expect.any(String) } })
      const id = (submitted as { result: { id: string } }).result.id
      const got = yield* rpc({ jsonrpc: "2.0", id: 2, method: "get", params: { id } })
      expect(got).toMatchObject({ id: 2, result: { id, type: "echo", status: "delayed", priority: 20, payload: { n: 4 } } })
      expect(JSON.parse(JSON.stringify(got))).toStrictEqual(got)
    }).pipe(Effect.provide(kit)))

  it.effect("bad params never reach the store (-32602); unknown methods are -32601; typed errors keep their code", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      expect(yield* rpc({ jsonrpc: "2.0", id: 1, method: "submit", params: { payload: {} } })).toMatchObject({ error: { code: -32602 } })
      expect(yield* rpc({ jsonrpc: "2.0", id: 2, method: "submit", params: { type: "echo", payload: { n: 1 }, options: { delay: "soon" } } }))
        .toMatchObject({ error: { code: -32602, message: `invalid params for submit: params.options.delay: expected a duration: milliseconds, or text such as "30 seconds", got "soon"` } })
      expect(yield* rpc({ jsonrpc: "2.0", id: 3, method: "explode" })).toMatchObject({ error: { code: -32601 } })
      expect(yield* rpc({ jsonrpc: "2.0", id: 4, method: "get", params: { id: "nope" } })).toMatchObject({ error: { code: -32001, data: { _tag: "TaskNotFound" } } })
      expect(yield* rpc({ jsonrpc: "2.0", id: 5, method: "submit", params: { type: "echo", payload: { n: "x" } } })).toMatchObject({ error: { code: -32004 } })
      expect((yield* queue.list({ limit: 10 })).length).toBe(0)
    }).pipe(Effect.provide(kit)))

  // Reported: errors were Schema dumps (the whole params type, "From side refinement failure"
  // trees), and bad option values answered -32004 InvalidPayload instead of -32602.
  it.effect("invalid params and payloads say, one line per problem, where and what was expected", () =>
    Effect.gen(function*() {
      const submit = (params: unknown) => rpc({ jsonrpc: "2.0", id: 1, method: "submit", params })
      expect(yield* submit({ type: "echo", payload: { n: 1 }, options: { priority: "urgent" } })).toMatchObject({
        error: {
          code: -32602,
          message: `invalid params for submit: params.options.priority: expected "low" | "normal" | "high" | "critical" | ` +
            `an integer between -1000 and 1000; higher runs first, got "urgent"`
        }
      })
      for (const [options, path] of [[{ priority: 1001 }, "priority"], [{ id: "bad id!" }, "id"], [{ dependsOn: ["ok", "no spaces"] }, "dependsOn[1]"]] as const) {
        const answer = (yield* submit({ type: "echo", payload: { n: 1 }, options })) as { error: { code: number; message: string } }
        expect(answer.error.code).toBe(-32602)
        expect(answer.error.message).toContain(`params.options.${path}: expected`)
      }
      const two = (yield* rpc({ jsonrpc: "2.0", id: 2, method: "list", params: { limit: 5000, status: ["done"] } })) as { error: { message: string } }
      expect(two.error.message.split("\n")).toStrictEqual([
        `invalid params for list: params.status[0]: expected "pending" | "blocked" | "delayed" | "retrying" | "running" | "paused" | "completed" | "failed" | "cancelled", got "done"`,
        "params.limit: expected an integer and a number between 1 and 1000, got 5000"
      ])
      expect(yield* submit({ type: "echo", payload: { n: "x" } })).toMatchObject({
        error: { code: -32004, message: expect.stringContaining(`payload.n: expected an integer, got "x"`) }
      })
      const pad = "x".repeat(Params.maxPayloadBytes)
      const bytes = JSON.stringify({ n: 1, pad }).length
      expect(yield* submit({ type: "echo", payload: { n: 1, pad } })).toMatchObject({
        error: { code: -32602, message: `invalid params for submit: params.payload: ${bytes} bytes of JSON, over the limit of ${Params.maxPayloadBytes}` }
      })
      expect(yield* rpc({ jsonrpc: "2.0", id: 4, method: "pause", params: { id: "bad id!" } })).toMatchObject({
        error: { code: -32602, message: `invalid params for pause: params.id: expected a task id: 1 to 128 letters, digits, or _ . : -, got "bad id!"` }
      })
      expect(yield* rpc({ id: 3, method: "health" })).toMatchObject({
        id: 3,
        error: { code: -32600, message: "invalid request: jsonrpc: is missing" }
      })
    }).pipe(Effect.provide(kit)))

  // Reported: a deeply nested payload answered -32603 "RangeError: Maximum call stack size
  // exceeded". Params nested past the limit are invalid params, and the message names it.
  it.effect("params nested past the depth limit answer -32602 naming the limit, in a batch entry by entry; nothing is stored", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      // Written as text: JSON.stringify itself cannot nest this deep.
      const deep = `${"{\"a\":".repeat(20_000)}{"n":1}${"}".repeat(20_000)}`
      const body = `[{"jsonrpc":"2.0","id":"deep","method":"submit","params":{"type":"echo","payload":${deep}}},` +
        `${JSON.stringify({ jsonrpc: "2.0", id: 2, method: "submit", params: { type: "echo", payload: { n: 2 } } })}]`
      const [refused, accepted] = (yield* rpc(body)) as ReadonlyArray<unknown>
      expect(refused).toStrictEqual({
        jsonrpc: "2.0",
        id: "deep",
        error: { code: -32602, message: `invalid params: nested more than ${JsonRpc.maxParamsDepth} levels deep (the limit)` }
      })
      expect(accepted).toMatchObject({ id: 2, result: { id: expect.any(String) } })
      // Deep anywhere else in an entry: an invalid request, answered, not a crash.
      const deepId = `{"jsonrpc":"2.0","id":${"[".repeat(20_000)}${"]".repeat(20_000)},"method":"health"}`
      expect(yield* rpc(deepId)).toStrictEqual({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, message: `invalid request: nested more than ${JsonRpc.maxParamsDepth} levels deep (the limit)` }
      })
      // Within the limit is fine.
      let ok: unknown = { n: 3 }
      for (let i = 0; i < JsonRpc.maxParamsDepth - 3; i++) ok = { a: ok }
      expect(yield* rpc({ jsonrpc: "2.0", id: 3, method: "submit", params: { type: "echo", payload: ok } })).toMatchObject({ error: { code: -32004 } })
      expect((yield* queue.list({ limit: 10 })).length).toBe(1)
    }).pipe(Effect.provide(kit)))

  it.effect("batches answer each call; notifications get no response; QueueFull maps to its code", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      const answers = yield* rpc([
        { jsonrpc: "2.0", id: "a", method: "submit", params: { type: "echo", payload: { n: 1 } } },
        { jsonrpc: "2.0", method: "submit", params: { type: "echo", payload: { n: 2 } } },
        { jsonrpc: "2.0", id: "c", method: "submit", params: { type: "echo", payload: { n: 3 } } },
        { jsonrpc: "1.0", id: "d", method: "health" }
      ])
      expect(Array.isArray(answers) && answers.map((a) => [a.id, "error" in a ? a.error.code : "ok"])).toStrictEqual([
        ["a", "ok"],
        ["c", -32002],
        ["d", -32600]
      ])
      expect(yield* rpc({ jsonrpc: "2.0", method: "health" })).toBeUndefined()
      expect(yield* rpc("{oops")).toMatchObject({ id: null, error: { code: -32700 } })
    }).pipe(Effect.provide(kit)))
})

describe("JSON-RPC methods from the one API definition", () => {
  it.effect("submitMany stores all or nothing; workers answers; a typed error carries itself encoded in data", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      yield* queue.pause({ queue: true })
      const bad = yield* rpc({ jsonrpc: "2.0", id: 1, method: "submitMany", params: { tasks: [{ type: "echo", payload: { n: 1 } }, { type: "echo", payload: { n: "two" } }] } })
      expect(bad).toMatchObject({ error: { code: -32004, data: { _tag: "InvalidPayload", taskType: "echo" } } })
      expect(yield* queue.counts).toMatchObject({ pending: 0 })
      const many = yield* rpc({ jsonrpc: "2.0", id: 2, method: "submitMany", params: { tasks: [{ type: "echo", payload: { n: 1 } }, { type: "echo", payload: { n: 2 } }] } })
      expect((many as { result: { ids: ReadonlyArray<string> } }).result.ids).toHaveLength(2)
      const full = yield* rpc({ jsonrpc: "2.0", id: 3, method: "submit", params: { type: "echo", payload: { n: 3 } } })
      expect(full).toMatchObject({ error: { code: -32002, data: { _tag: "QueueFull", limit: 2 } } })
      expect(yield* rpc({ jsonrpc: "2.0", id: 4, method: "workers" })).toMatchObject({ id: 4, result: [] })
      expect(yield* rpc({ jsonrpc: "2.0", id: 5, method: "submitMany", params: { tasks: [] } }))
        .toMatchObject({ error: { code: -32602, message: expect.stringContaining("params.tasks") } })
    }).pipe(Effect.provide(kit)))
})

describe("the strict JSON-RPC 2.0 wire", () => {
  it.effect("ids are echoed exactly as sent (strings, numbers, null); every standard code where the spec puts it; a mixed batch is answered entry by entry, notifications left out", () =>
    Effect.gen(function*() {
      for (const id of ["abc", "007", 0, -1, 1.5, 2 ** 53 + 2, null]) {
        expect(yield* rpc({ jsonrpc: "2.0", id, method: "counts" })).toMatchObject({ jsonrpc: "2.0", id, result: { pending: 0 } })
      }
      expect(yield* rpc("{not json")).toMatchObject({ id: null, error: { code: -32700 } })
      expect(yield* rpc([])).toMatchObject({ id: null, error: { code: -32600 } })
      expect(yield* rpc({ jsonrpc: "2.0", id: { no: "objects" }, method: "counts" })).toMatchObject({ id: null, error: { code: -32600 } })
      const batch = yield* rpc([
        { jsonrpc: "2.0", id: "a", method: "counts" },
        { jsonrpc: "2.0", method: "counts" },
        { jsonrpc: "2.0", id: 2, method: "nope" },
        { jsonrpc: "2.0", id: 3, method: "get", params: { id: "" } },
        { jsonrpc: "1.0", id: 4, method: "counts" },
        { jsonrpc: "2.0", id: 5, method: "get", params: { id: "missing" } },
        42
      ])
      expect(batch).toMatchObject([
        { id: "a", result: {} },
        { id: 2, error: { code: -32601 } },
        { id: 3, error: { code: -32602 } },
        { id: 4, error: { code: -32600 } },
        { id: 5, error: { code: -32001, data: { _tag: "TaskNotFound", taskId: "missing" } } },
        { id: null, error: { code: -32600 } }
      ])
      expect(yield* rpc([{ jsonrpc: "2.0", method: "counts" }])).toBeUndefined()
    }).pipe(Effect.provide(kit)))
})
