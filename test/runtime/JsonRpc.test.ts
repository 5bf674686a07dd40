import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { TaskNotFound } from "../../src/domain/TaskErrors.js"
import * as JsonRpc from "../../src/runtime/api/JsonRpc.js"

const left = (body: string) => Either.getLeft(JsonRpc.parse(body))
const right = (body: string) => Either.getOrThrow(JsonRpc.parse(body))

describe("JSON-RPC framing", () => {
  it("answers malformed JSON with -32700 and an empty batch with -32600", () => {
    const bad = left("{nope")
    expect(bad._tag === "Some" && "error" in bad.value && bad.value.error.code).toBe(-32700)
    const empty = left("[]")
    expect(empty._tag === "Some" && "error" in empty.value && empty.value.error.code).toBe(-32600)
  })

  it("checks each entry: the wrong version or a missing method is -32600 with the id kept", () => {
    const parsed = right(JSON.stringify([
      { jsonrpc: "2.0", method: "get", params: { id: "a" }, id: 1 },
      { jsonrpc: "1.0", method: "get", id: 2 },
      { jsonrpc: "2.0", id: "x" },
      { jsonrpc: "2.0", method: "cancel", params: ["a"] }
    ]))
    expect(parsed._tag).toBe("Batch")
    if (parsed._tag !== "Batch") return
    expect(parsed.entries.map((e) => e._tag)).toStrictEqual(["Call", "Invalid", "Invalid", "Call"])
    const invalid = parsed.entries[1]
    expect(invalid?._tag === "Invalid" && invalid.response).toMatchObject({ id: 2, error: { code: -32600 } })
    const notification = parsed.entries[3]
    expect(notification?._tag === "Call" && notification.request.id).toBeUndefined()
  })

  it("maps typed errors to application codes, anything else to -32603", () => {
    expect(JsonRpc.fromError(new TaskNotFound({ taskId: "t1" }))).toStrictEqual({
      code: -32001,
      message: "no task with id t1",
      data: { _tag: "TaskNotFound" }
    })
    expect(JsonRpc.fromError({ _tag: "Weird", message: "boom" }).code).toBe(-32603)
    expect(JsonRpc.success(1, undefined)).toStrictEqual({ jsonrpc: "2.0", id: 1, result: null })
  })
})
