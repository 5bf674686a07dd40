/**
 * A fan-in with results along dependencies: counts the words of text files in chunks on worker
 * threads (map), then merges the counts in one task that depends on them all (reduce).
 *
 *   npm run build && node dist/examples/wordCount/main.js README.md docs/design.md
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Troupe } from "../../src/index.js"
import { TaskQueue } from "../../src/services/queue/TaskQueue.js"
import { CountWords, Merge } from "./tasks.js"

// The handlers module as compiled next to this file (dist/examples/wordCount/handlers.js).
const handlersModule = fileURLToPath(new URL("./handlers.js", import.meta.url))

const files = process.argv.slice(2)
const linesPerChunk = 200

const program = Effect.gen(function*() {
  const queue = yield* TaskQueue
  const chunks = files.flatMap((file) => {
    const lines = fs.readFileSync(file, "utf8").split("\n")
    return Array.from({ length: Math.ceil(lines.length / linesPerChunk) }, (_, i) => ({
      source: `${file}:${i * linesPerChunk + 1}`,
      text: lines.slice(i * linesPerChunk, (i + 1) * linesPerChunk).join("\n")
    }))
  })
  // The map tasks, then the reduce that depends on them all: one durable commit each.
  const counts = yield* queue.submitMany(chunks.map((payload) => ({ definition: CountWords, payload })))
  const merge = yield* queue.submit(Merge, { top: 10 }, { dependsOn: counts })
  const result = yield* queue.await(Merge, merge)
  yield* Console.log(`${result.words} words in ${result.chunks} chunks of ${files.join(", ")}`)
  for (const { count, word } of result.top) yield* Console.log(`${String(count).padStart(7)}  ${word}`)
})

if (files.length === 0) {
  console.error("usage: node dist/examples/wordCount/main.js FILE...")
  process.exit(2)
}

program.pipe(
  Effect.provide(Troupe.layer({ database: ":memory:", handlersModule, shutdownTimeout: 0 })),
  NodeRuntime.runMain
)
