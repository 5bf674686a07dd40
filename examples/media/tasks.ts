/** The media example's task type (the concat step uses troupe's built-in `command` type). */
import * as Schema from "effect/Schema"
import { TaskDefinition } from "../../src/index.js"

/** Encodes one segment by running the encoder, its `progress N` output as the task's progress. */
export const Encode = TaskDefinition.make("media.encode", {
  payload: Schema.Struct({ input: Schema.String, index: Schema.Int, of: Schema.Int, output: Schema.String }),
  success: Schema.Struct({ output: Schema.String, bytes: Schema.Int }),
  execution: "fiber"
})
