import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import type * as Pressure from "../../domain/Pressure.js"

/** One reading of the machine, in MiB. */
export interface Reading {
  readonly at: number
  readonly hostTotalMb: number
  readonly hostFreeMb: number
  /** cgroup v2 memory.max and memory.current, where the process runs under a limit. */
  readonly cgroupMaxMb: number | null
  readonly cgroupCurrentMb: number | null
  /** This process's resident set. */
  readonly rssMb: number
  /** 1-minute load average. */
  readonly loadAvg: number
  /** Heap used by each worker thread, as the threads last reported it (see withWorkerHeaps). */
  readonly workerHeapsMb?: ReadonlyArray<number>
}

/** The memory the pressure controller judges: the cgroup's view where there is a limit. */
export const memory = (r: Reading): Pressure.MemorySample =>
  r.cgroupMaxMb !== null && r.cgroupCurrentMb !== null
    ? { limitMb: Math.min(r.cgroupMaxMb, r.hostTotalMb), usedMb: r.cgroupCurrentMb }
    : { limitMb: r.hostTotalMb, usedMb: r.hostTotalMb - r.hostFreeMb }

/** Reads the machine. Replaceable: the test layer replays scripted readings. */
export class SystemMetrics extends Context.Tag("troupe/SystemMetrics")<SystemMetrics, {
  readonly read: Effect.Effect<Reading>
}>() {}

const MiB = 2 ** 20

const readNumber = (file: string): number | null => {
  try {
    const text = fs.readFileSync(file, "utf8").trim()
    const n = Number(text)
    return text === "max" || !Number.isFinite(n) ? null : n / MiB
  } catch {
    return null
  }
}

/** The host (os), the cgroup v2 files under /sys/fs/cgroup where present, and this process. */
export const layerLive: Layer.Layer<SystemMetrics> = Layer.succeed(SystemMetrics, SystemMetrics.of({
  read: Effect.map(Clock.currentTimeMillis, (at) => ({
    at,
    hostTotalMb: os.totalmem() / MiB,
    hostFreeMb: os.freemem() / MiB,
    cgroupMaxMb: readNumber("/sys/fs/cgroup/memory.max"),
    cgroupCurrentMb: readNumber("/sys/fs/cgroup/memory.current"),
    rssMb: process.memoryUsage.rss() / MiB,
    loadAvg: os.loadavg()[0] ?? 0
  }))
}))

/** Scripted readings, one per read, the last one repeated: pressure on cue under TestClock. */
export const layerScripted = (readings: ReadonlyArray<Partial<Reading>>): Layer.Layer<SystemMetrics> =>
  Layer.sync(SystemMetrics, () => {
    let i = 0
    const base: Reading = { at: 0, hostTotalMb: 16_384, hostFreeMb: 12_000, cgroupMaxMb: null, cgroupCurrentMb: null, rssMb: 200, loadAvg: 0 }
    return SystemMetrics.of({
      read: Effect.map(Clock.currentTimeMillis, (at) => {
        const next = readings[Math.min(i, readings.length - 1)] ?? {}
        i++
        return { ...base, ...next, at }
      })
    })
  })

/**
 * Adds the worker threads' own heap reports (each thread writes its heap every 500 ms) to
 * every reading of `metrics`.
 */
export const withWorkerHeaps = (
  metrics: Layer.Layer<SystemMetrics>,
  heaps: Effect.Effect<ReadonlyArray<number>>
): Layer.Layer<SystemMetrics> =>
  Layer.effect(
    SystemMetrics,
    Effect.map(SystemMetrics, (base) => SystemMetrics.of({ read: Effect.zipWith(base.read, heaps, (r, workerHeapsMb) => ({ ...r, workerHeapsMb })) }))
  ).pipe(Layer.provide(metrics))
