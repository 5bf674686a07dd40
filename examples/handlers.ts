import * as Effect from "effect/Effect"
import { Handlers } from "../src/worker.js"
import { AlwaysBroken, Analyze, FetchPage, FlakyUpload, Report, Thumbnail, Transcode, UploadRejected } from "./tasks.js"

/** Burns CPU deterministically (a stand-in for image or document work). */
const burn = (rounds: number, seed: number): number => {
  let h = seed | 0
  for (let i = 0; i < rounds; i++) h = Math.imul(h ^ (h >>> 15), 2246822519) + i | 0
  return h >>> 0
}

export default Handlers.make(
  Thumbnail.handler(({ image, size }, ctx) =>
    Effect.gen(function*() {
      let checksum = 0
      for (let step = 1; step <= 4; step++) {
        checksum ^= burn(size * 12_000, checksum + step)
        yield* ctx.progress(step * 25, `pass ${step}/4`)
      }
      return { image, checksum }
    })
  ),
  Analyze.handler(({ doc }) => Effect.sync(() => ({ words: burn(400_000, doc) % 10_000 }))),
  FetchPage.handler(({ latencyMs, url }) => Effect.as(Effect.sleep(latencyMs), { bytes: url.length * 1024 })),
  FlakyUpload.handler((_, ctx) =>
    ctx.attempt < 3
      ? Effect.fail(new UploadRejected({ attempt: ctx.attempt, message: "storage said 503" }))
      : Effect.succeed({ attempts: ctx.attempt })
  ),
  AlwaysBroken.handler(({ reason }, ctx) => Effect.fail(new UploadRejected({ attempt: ctx.attempt, message: reason }))),
  Report.handler(({ docs }, ctx) => Effect.as(ctx.log("info", `all ${docs} analyses are in`), { docs })),
  // About a quarter of a second of CPU per second of video, in 20 steps; yields between steps so
  // a cancel or timeout interrupts it promptly.
  Transcode.handler(({ seconds, video }, ctx) =>
    Effect.gen(function*() {
      yield* ctx.log("info", `transcoding ${video} (${seconds} s of video)`)
      let frames = 0
      for (let step = 1; step <= 20; step++) {
        frames += burn(seconds * 7_000_000, step) % 30 + seconds
        yield* ctx.progress(step * 5, `segment ${step}/20`)
        yield* Effect.yieldNow()
      }
      yield* ctx.log("info", `wrote ${frames} frames`)
      return { video, frames }
    })
  )
)
