import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Cli from "../../src/runtime/cli/Cli.js"
import * as Render from "../../src/runtime/cli/Render.js"
import { splitCommand } from "../../src/runtime/cli/splitCommand.js"
import * as Suggest from "../../src/runtime/cli/Suggest.js"
import * as Sse from "../../src/runtime/api/Sse.js"

describe("splitCommand", () => {
  it("splits like a shell, without expansion", () => {
    expect(splitCommand(`python process_audio.py --in "my file.wav" --level '$HOME' a\\ b`))
      .toEqual(["python", "process_audio.py", "--in", "my file.wav", "--level", "$HOME", "a b"])
    expect(splitCommand(`echo "" ''`)).toEqual(["echo", "", ""])
    expect(splitCommand(`say "a \\"quoted\\" word"`)).toEqual(["say", `a "quoted" word`])
    expect(splitCommand(`  `)).toEqual([])
    expect(splitCommand(`echo "open`)).toBeUndefined()
  })
})

// Reported: no "did you mean" for mistyped commands or flags.
describe("Suggest", () => {
  it("names the command or flag probably meant, from the commands' own definitions", () => {
    expect(Suggest.hint(Cli.troupe, ["sumbit", "echo", "{}"])).toBe("unknown command 'sumbit': did you mean 'submit'?")
    expect(Suggest.hint(Cli.troupe, ["stauts", "x"])).toBe("unknown command 'stauts': did you mean 'status'?")
    expect(Suggest.hint(Cli.troupe, ["submit", "echo", "{}", "--prority", "3", "--dependson=a"])).toBe(
      "unknown flag '--prority': did you mean '--priority'?\nunknown flag '--dependson': did you mean '--depends-on'?"
    )
    expect(Suggest.hint(Cli.troupe, ["start", "--num-worker", "2"])).toBe("unknown flag '--num-worker': did you mean '--num-workers'?")
    // Nothing close: no guess.
    expect(Suggest.hint(Cli.troupe, ["frobnicate"])).toBeUndefined()
    expect(Suggest.hint(Cli.troupe, ["list", "--zzz"])).toBeUndefined()
  })
})

describe("help", () => {
  it("is asked for by --help or -h anywhere (as @effect/cli's parser takes it), laid out for 80 columns", () => {
    expect(Cli.help(["submit", "--help"])).toContain("troupe submit")
    expect(Cli.help(["-h"])).toContain("submit")
    expect(Cli.help(["submit", "echo", "--", "--help"])).toContain("troupe submit")
    expect(Cli.help(["submit", "echo", "{}"])).toBeUndefined()
  })
})

describe("Render", () => {
  it("pads tables to the widest cell and draws bars", () => {
    expect(Render.table(["ID", "STATUS"], [["a", "running"], ["bbbb", "done"]])).toBe("ID    STATUS\na     running\nbbbb  done")
    expect(Render.bar(50, 10)).toBe("[#####.....]  50%")
    expect(Render.bar(140, 4)).toBe("[####] 100%")
    expect(Render.duration(950)).toBe("950 ms")
    expect(Render.duration(12_340)).toBe("12.3 s")
    expect(Render.duration(245_000)).toBe("4m05s")
  })
})

describe("Server-Sent Events", () => {
  it.effect("frames tagged items and reads them back; a failure becomes an error event, then the end", () =>
    Effect.gen(function*() {
      const items = Stream.make({ _tag: "Log", message: "hello\nworld" }, { _tag: "Progress", percent: 40 }).pipe(
        Stream.concat(Stream.fail({ _tag: "TaskNotFound", message: "no task" }))
      )
      // Re-chunk the bytes at awkward places: the reader must not depend on chunk boundaries.
      const bytes = yield* Stream.runCollect(Sse.encode(items))
      const all = Buffer.concat(Chunk.toReadonlyArray(bytes))
      const pieces = [all.subarray(0, 7), all.subarray(7, 40), all.subarray(40)]
      const events = yield* Stream.runCollect(Sse.decode(Stream.fromIterable(pieces)))
      expect(Chunk.toReadonlyArray(events).map((e) => [e.event, JSON.parse(e.data)])).toEqual([
        ["Log", { _tag: "Log", message: "hello\nworld" }],
        ["Progress", { _tag: "Progress", percent: 40 }],
        ["error", { _tag: "TaskNotFound", message: "no task" }],
        ["end", {}]
      ])
    }))
})
