import { describe, expect, it } from "@effect/vitest"
import * as LineSplitter from "../../src/workers/LineSplitter.js"

const all = (chunks: ReadonlyArray<string>, max = 100) => {
  const splitter = LineSplitter.make(max)
  return [...chunks.flatMap((c) => splitter.push(c)), ...splitter.end()]
}

describe("LineSplitter", () => {
  it("ends lines at \\n, \\r\\n and a bare \\r, across chunk boundaries", () => {
    expect(all(["one\ntwo\r\nthr", "ee\rfour"])).toStrictEqual(["one", "two", "three", "four"])
    // \r\n split over two chunks is one line break, not two.
    expect(all(["a\r", "\nb\r", "", "\n"])).toStrictEqual(["a", "b"])
    expect(all(["progress 10%\rprogress 50%\rprogress 100%\n"])).toStrictEqual(["progress 10%", "progress 50%", "progress 100%"])
  })

  it("keeps empty lines and the last line without a break", () => {
    expect(all(["a\n\nb"])).toStrictEqual(["a", "", "b"])
    expect(all(["\n"])).toStrictEqual([""])
    expect(all([""])).toStrictEqual([])
    expect(all(["tail\r"])).toStrictEqual(["tail"])
  })

  it("cuts a line longer than the limit into pieces", () => {
    expect(all(["x".repeat(25)], 10)).toStrictEqual(["x".repeat(10), "x".repeat(10), "x".repeat(5)])
    expect(all(["y".repeat(7), "y".repeat(7), "\nz"], 10)).toStrictEqual(["y".repeat(10), "y".repeat(4), "z"])
  })
})
