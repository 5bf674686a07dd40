/**
 * The media example's handlers. `Encode` runs the encoder program and reports its progress; it
 * runs in-process (the program is the work) and uses the app's CommandExecutor (from
 * NodeContext), which the app provides to the runtime's layer.
 */
import * as Command from "@effect/platform/Command"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Handlers } from "../../src/worker.js"
import { Encode } from "./tasks.js"

export const encoder = fileURLToPath(new URL("./encoder.js", import.meta.url))

export default Handlers.make(
  Encode.handler(({ index, input, of, output }, ctx) =>
    Effect.gen(function*() {
      const run = Command.make(process.execPath, encoder, "--segment", input, String(index), String(of), output)
      yield* Stream.runForEach(Command.streamLines(run), (line) => {
        const progress = /^progress (\d+)$/.exec(line)
        return progress === null ? ctx.log("info", line) : ctx.progress(Number(progress[1]), `segment ${index + 1}/${of}`)
      }).pipe(Effect.orDie)
      return { output, bytes: fs.statSync(output).size }
    }))
)
