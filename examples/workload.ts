/**
 * The demo workload `npm start` submits once the server is up (`troupe start --workload`): a few
 * hundred tasks of mixed types and priorities, some long transcodes with progress bars, flaky
 * uploads that succeed on retry, one that always fails, and a fan-in report.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import type { Submit } from "../src/services/queue/TaskQueue.js"
import { AlwaysBroken, Analyze, FetchPage, FlakyUpload, Report, Thumbnail, Transcode } from "./tasks.js"

const priorities = ["low", "normal", "high", "critical"] as const

/** An item of any of the workload's types, each checked against its own definition. */
type Item = Submit<typeof Transcode | typeof Thumbnail | typeof Analyze | typeof Report | typeof FetchPage | typeof FlakyUpload | typeof AlwaysBroken>

/** The mixed workload, deterministic per run tag (ids of the analyses the report waits for). */
export const items = (run: string, options: { readonly transcodes: number }): Array<Item> => {
  const out: Array<Item> = []
  for (let i = 0; i < options.transcodes; i++) {
    out.push({ definition: Transcode, payload: { video: `clip-${i}.mp4`, seconds: 20 + (i % 3) * 10 } })
  }
  for (let i = 0; i < 120; i++) {
    out.push({ definition: Thumbnail, payload: { image: `img-${i}.png`, size: 40 + (i % 5) * 20 }, options: { priority: priorities[i % 4]! } })
  }
  for (let i = 0; i < 150; i++) {
    out.push({ definition: Analyze, payload: { doc: i }, options: { id: `${run}-analyze-${i}`, priority: priorities[(i * 3) % 4]! } })
  }
  // Fan-in: the report runs once the first 20 analyses completed (dependsOn, same submitMany).
  out.push({
    definition: Report,
    payload: { docs: 20 },
    options: { dependsOn: Array.from({ length: 20 }, (_, i) => `${run}-analyze-${i}`) }
  })
  for (let i = 0; i < 60; i++) {
    out.push({ definition: FetchPage, payload: { url: `https://example.test/${i}`, latencyMs: 20 + (i % 4) * 15 }, options: { priority: "normal" } })
  }
  for (let i = 0; i < 12; i++) {
    out.push({ definition: FlakyUpload, payload: { file: `report-${i}.pdf` }, options: { priority: "high" } })
  }
  out.push({ definition: AlwaysBroken, payload: { reason: "the bucket does not exist" }, options: { priority: "critical" } })
  return out
}

/** Submits the workload once (in one durable commit). */
export default Effect.gen(function*() {
  const queue = yield* TaskQueue
  const run = (yield* Clock.currentTimeMillis).toString(36)
  const ids = yield* queue.submitMany(items(run, { transcodes: 6 }))
  yield* Effect.logInfo(`demo workload: submitted ${ids.length} tasks`)
})
