import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { performance } from "node:perf_hooks"
import * as TaskDefinition from "../src/domain/TaskDefinition.js"
import * as Handlers from "../src/workers/Handlers.js"
import { spin } from "./spin.js"

/** Does nothing, on a worker thread. */
export const Noop = TaskDefinition.make("noop", { payload: Schema.Struct({ n: Schema.Int }) })
/** Does nothing, in-process. */
export const NoopFiber = TaskDefinition.make("noopFiber", { payload: Schema.Struct({ n: Schema.Int }), execution: "fiber" })
/** NoopFiber under a rate limit that never binds (its bookkeeping's cost): for the whole type, and per rate key. */
export const NoopRated = TaskDefinition.make("noopRated", {
  payload: Schema.Struct({ n: Schema.Int }),
  execution: "fiber",
  rateLimit: { limit: 1_000_000, per: "1 second" }
})
export const NoopRatedByKey = TaskDefinition.make("noopRatedByKey", {
  payload: Schema.Struct({ n: Schema.Int }),
  execution: "fiber",
  rateLimit: { limit: 1_000_000, per: "1 second", byKey: true }
})
/** NoopFiber at most 2,000 a second (a limit that binds). */
export const NoopCapped = TaskDefinition.make("noopCapped", {
  payload: Schema.Struct({ n: Schema.Int }),
  execution: "fiber",
  rateLimit: { limit: 2000, per: "1 second" }
})
/** Returns the wall-clock instant (ms, shared across threads) at which the handler started. */
export const Stamp = TaskDefinition.make("stamp", { payload: Schema.Struct({ n: Schema.Int }), success: Schema.Number })
/** Stamp in-process (a fiber of the node's main thread), as the peers run their handlers. */
export const StampFiber = TaskDefinition.make("stampFiber", { payload: Schema.Struct({ n: Schema.Int }), success: Schema.Number, execution: "fiber" })
/** Burns `iterations` rounds of CPU on a worker thread. */
export const Spin = TaskDefinition.make("spin", { payload: Schema.Struct({ iterations: Schema.Int }), success: Schema.Number })
/** Holds its slot for a long time (keeps a backlog pending). */
export const Hold = TaskDefinition.make("hold", { payload: Schema.Struct({ n: Schema.Int }), execution: "fiber" })

/** Reports progress `reports` times as fast as it can, on a worker thread, then finishes. */
export const Chatty = TaskDefinition.make("chatty", { payload: Schema.Struct({ reports: Schema.Int }), success: Schema.Number })

/** Holds `mb` MiB (outside the JS heap) for `ms`, then lets it go: a memory-hungry task. */
export const Hog = TaskDefinition.make("hog", { payload: Schema.Struct({ mb: Schema.Int, ms: Schema.Int }) })

// A documented bridge: benchmarks read the real clock to measure latency across threads.
const wallNow = () => performance.timeOrigin + performance.now()

export default Handlers.make(
  Noop.handler(() => Effect.void),
  NoopFiber.handler(() => Effect.void),
  NoopRated.handler(() => Effect.void),
  NoopRatedByKey.handler(() => Effect.void),
  NoopCapped.handler(() => Effect.void),
  Stamp.handler(() => Effect.sync(wallNow)),
  StampFiber.handler(() => Effect.sync(wallNow)),
  Hold.handler(() => Effect.sleep("1 hour")),
  Spin.handler(({ iterations }) => Effect.sync(() => spin(iterations))),
  Hog.handler(({ mb, ms }) =>
    Effect.gen(function*() {
      let block: Buffer | undefined = Buffer.alloc(mb * 2 ** 20, 1)
      yield* Effect.sleep(ms)
      block.fill(2)
      block = undefined
      // Give the memory back now rather than at the thread's next collection (bench runs with --expose-gc).
      ;(globalThis as { gc?: () => void }).gc?.()
    })),
  Chatty.handler(({ reports }, ctx) =>
    Effect.gen(function*() {
      const start = wallNow()
      for (let i = 1; i <= reports; i++) yield* ctx.progress((i / reports) * 100, `step ${i}`)
      return wallNow() - start
    }))
)
