/**
 * The word-count example's handlers module: what `Troupe.layer({ handlersModule })` loads in
 * each worker thread. It is compiled with the rest of the project (`npm run build`), and the
 * program finds the compiled file next to its own (main.ts: `new URL("./handlers.js", import.meta.url)`).
 */
import * as Effect from "effect/Effect"
import { Handlers } from "../../src/worker.js"
import { CountWords, Merge } from "./tasks.js"

export default Handlers.make(
  CountWords.handler(({ text }) =>
    Effect.sync(() => {
      const counts: Record<string, number> = {}
      let words = 0
      for (const word of text.toLowerCase().match(/[a-z][a-z']*/g) ?? []) {
        counts[word] = (counts[word] ?? 0) + 1
        words++
      }
      return { words, counts }
    })),
  // The reduce reads every map's result, typed by CountWords; a map that failed would have failed
  // this task (DependencyFailed) before it ran.
  Merge.handler(({ top }, ctx) =>
    Effect.map(ctx.dependencies(CountWords), (parts) => {
      const total = new Map<string, number>()
      for (const part of parts) for (const [word, n] of Object.entries(part.counts)) total.set(word, (total.get(word) ?? 0) + n)
      return {
        chunks: parts.length,
        words: parts.reduce((n, p) => n + p.words, 0),
        top: [...total].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, top).map(([word, count]) => ({ word, count }))
      }
    }))
)
