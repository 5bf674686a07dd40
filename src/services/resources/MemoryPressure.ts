import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Pressure from "../../domain/Pressure.js"
import { ResourceGovernor } from "./ResourceGovernor.js"
import * as SystemMetrics from "./SystemMetrics.js"

/** A change the controller made, for logs, stats and the benchmark's timeline. */
export interface Change {
  readonly at: number
  readonly underPressure: boolean
  readonly target: number
  readonly usedShare: number
  readonly freeMb: number
}

export interface Options extends Pressure.Settings {
  readonly sampleEvery: Duration.DurationInput
  /** Applies a new pool size target (the worker pool's; absent: admission only). */
  readonly resize?: (target: number) => Effect.Effect<void>
}

/**
 * Samples SystemMetrics on a Schedule and steers by memory: under pressure admission closes
 * (ResourceGovernor) and the pool's target size drops a worker per sample; when pressure ends
 * (with hysteresis, src/domain/Pressure.ts) admission reopens and capacity returns step by
 * step. Every change is logged and kept in a bounded timeline.
 */
export class MemoryPressure extends Context.Tag("troupe/MemoryPressure")<MemoryPressure, {
  readonly state: Effect.Effect<Pressure.State & { readonly last: Change | null }>
  readonly timeline: Effect.Effect<ReadonlyArray<Change>>
  /** Every change from now on (admission closed/opened, pool target moved). */
  readonly changes: Stream.Stream<Change>
}>() {}

export const make = (options: Options) =>
  Effect.gen(function*() {
    const metrics = yield* SystemMetrics.SystemMetrics
    const governor = yield* ResourceGovernor
    let state = Pressure.initial(options)
    let last: Change | null = null
    const timeline: Array<Change> = []
    const pubsub = yield* PubSub.unbounded<Change>()

    const sample = Effect.gen(function*() {
      const reading = yield* metrics.read
      const memory = SystemMetrics.memory(reading)
      const next = Pressure.step(state, memory, options)
      const retarget = next.target !== state.target
      const changed = next.underPressure !== state.underPressure || retarget
      state = next
      if (!changed) return
      const change: Change = {
        at: yield* Clock.currentTimeMillis,
        underPressure: next.underPressure,
        target: next.target,
        usedShare: Pressure.usedShare(memory),
        freeMb: Pressure.freeMb(memory)
      }
      last = change
      timeline.push(change)
      if (timeline.length > 1000) timeline.splice(0, timeline.length - 1000)
      yield* PubSub.publish(pubsub, change)
      yield* governor.setAdmitting(!next.underPressure)
      if (retarget && options.resize !== undefined) yield* options.resize(next.target)
      const detail = `${(change.usedShare * 100).toFixed(1)}% of memory in use, ${change.freeMb.toFixed(0)} MiB free; ` +
        `admission ${next.underPressure ? "paused" : "open"}, pool target ${next.target}`
      yield* next.underPressure ? Effect.logWarning(`memory pressure: ${detail}`) : Effect.logInfo(`memory: ${detail}`)
    })

    yield* Effect.forkScoped(
      sample.pipe(
        Effect.catchAllCause((cause) => Effect.logError("memory sampling failed", cause)),
        Effect.repeat(Schedule.spaced(Duration.decode(options.sampleEvery)))
      )
    )
    return MemoryPressure.of({
      state: Effect.sync(() => ({ ...state, last })),
      timeline: Effect.sync(() => [...timeline]),
      changes: Stream.fromPubSub(pubsub)
    })
  }).pipe(Effect.annotateLogs({ service: "MemoryPressure" }))

export const layer = (options: Options): Layer.Layer<MemoryPressure, never, SystemMetrics.SystemMetrics | ResourceGovernor> =>
  Layer.scoped(MemoryPressure, make(options))

/** No sampling: never under pressure (a process that runs no work, or tests). */
export const layerNoop: Layer.Layer<MemoryPressure> = Layer.succeed(MemoryPressure, MemoryPressure.of({
  state: Effect.succeed({ underPressure: false, calm: 0, target: 0, last: null }),
  timeline: Effect.succeed([]),
  changes: Stream.empty
}))
