/**
 * The word-count example's task types (a fan-in: map → reduce), shared by the program that
 * submits them (main.ts) and the handlers module the worker threads load (handlers.ts).
 */
import * as Schema from "effect/Schema"
import { TaskDefinition } from "../../src/index.js"

/** Counts the words of one chunk of text (the map step, on a worker thread). */
export const CountWords = TaskDefinition.make("wordCount.count", {
  payload: Schema.Struct({ source: Schema.String, text: Schema.String }),
  success: Schema.Struct({ words: Schema.Int, counts: Schema.Record({ key: Schema.String, value: Schema.Int }) })
})

/** Merges the counts of the CountWords tasks it depends on (the reduce step). */
export const Merge = TaskDefinition.make("wordCount.merge", {
  payload: Schema.Struct({ top: Schema.Int }),
  success: Schema.Struct({
    chunks: Schema.Int,
    words: Schema.Int,
    top: Schema.Array(Schema.Struct({ word: Schema.String, count: Schema.Int }))
  })
})
