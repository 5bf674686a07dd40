import * as Schema from "effect/Schema"
import { TaskDefinition } from "../src/worker.js"

// The demo's task types. Definitions are shared: the app submits with them, the handlers
// module (examples/handlers.ts) implements them, worker threads load that module by path.

/** CPU-bound: renders a thumbnail (simulated by hashing), on a worker thread. */
export const Thumbnail = TaskDefinition.make("thumbnail", {
  payload: Schema.Struct({ image: Schema.String, size: Schema.Int.pipe(Schema.positive()) }),
  success: Schema.Struct({ image: Schema.String, checksum: Schema.Number }),
  priority: "normal"
})

/** CPU-bound and short: analyses a document. */
export const Analyze = TaskDefinition.make("analyze", {
  payload: Schema.Struct({ doc: Schema.Int }),
  success: Schema.Struct({ words: Schema.Int })
})

/** I/O-bound: waits on a (simulated) remote call, in-process as a fiber. */
export const FetchPage = TaskDefinition.make("fetchPage", {
  payload: Schema.Struct({ url: Schema.String, latencyMs: Schema.Int }),
  success: Schema.Struct({ bytes: Schema.Int }),
  execution: "fiber"
})

export class UploadRejected extends Schema.TaggedError<UploadRejected>()("UploadRejected", {
  attempt: Schema.Int,
  message: Schema.String
}) {}

/** Fails twice, then succeeds: shows the durable retry backoff. */
export const FlakyUpload = TaskDefinition.make("flakyUpload", {
  payload: Schema.Struct({ file: Schema.String }),
  success: Schema.Struct({ attempts: Schema.Int }),
  failure: UploadRejected,
  retry: { maxAttempts: 4, backoff: "exponential", initialDelay: "200 millis", factor: 2, jitter: false }
})

/** Always fails: shows a task ending `failed` with every attempt's error kept. */
export const AlwaysBroken = TaskDefinition.make("alwaysBroken", {
  payload: Schema.Struct({ reason: Schema.String }),
  failure: UploadRejected,
  retry: { maxAttempts: 3, backoff: "fixed", initialDelay: "100 millis", jitter: false }
})

/** Fan-in: summarizes analyses it depends on (dependsOn), in-process. */
export const Report = TaskDefinition.make("report", {
  payload: Schema.Struct({ docs: Schema.Int }),
  success: Schema.Struct({ docs: Schema.Int }),
  execution: "fiber"
})

/** Long and CPU-bound: transcodes a video (simulated), reporting progress and log lines. */
export const Transcode = TaskDefinition.make("transcode", {
  payload: Schema.Struct({ video: Schema.String, seconds: Schema.Int.pipe(Schema.between(1, 600)) }),
  success: Schema.Struct({ video: Schema.String, frames: Schema.Int }),
  priority: "low",
  timeout: "10 minutes"
})
