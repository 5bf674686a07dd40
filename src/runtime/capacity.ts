import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import type * as Resources from "../domain/Resources.js"

/** The cgroup v2 memory limit of this process, in bytes, where there is one. */
export const cgroupMemoryMax = (): number | undefined => {
  try {
    const text = fs.readFileSync("/sys/fs/cgroup/memory.max", "utf8").trim()
    const n = Number(text)
    return text === "max" || !Number.isFinite(n) || n <= 0 ? undefined : n
  } catch {
    return undefined
  }
}

/** GPUs that `nvidia-smi -L` lists; 0 where it is missing or fails (within 2 s). */
export const detectGpus: Effect.Effect<number> = Effect.async<number>((resume) => {
  const child = execFile("nvidia-smi", ["-L"], { timeout: 2000 }, (error, stdout) => {
    resume(Effect.succeed(error ? 0 : stdout.split("\n").filter((l) => l.startsWith("GPU ")).length))
  })
  return Effect.sync(() => child.kill())
})

export interface CapacityConfig {
  /** cpu units; "auto": the cores. */
  readonly cpu: number | "auto"
  /** memory MiB; "auto": `memoryFraction` of the smaller of host memory and the cgroup limit. */
  readonly memoryMb: number | "auto"
  readonly memoryFraction: number
  /** gpus; "auto": what nvidia-smi lists (0 without it). */
  readonly gpu: number | "auto"
}

/** The governor's budget: configured values, automatic defaults for the rest. */
export const resolve = (config: CapacityConfig): Effect.Effect<Resources.Amounts> =>
  Effect.gen(function*() {
    const hostMb = Math.min(os.totalmem(), cgroupMemoryMax() ?? Number.POSITIVE_INFINITY) / 2 ** 20
    return {
      cpu: config.cpu === "auto" ? os.availableParallelism() : config.cpu,
      memoryMb: config.memoryMb === "auto" ? Math.floor(hostMb * config.memoryFraction) : config.memoryMb,
      gpu: config.gpu === "auto" ? yield* detectGpus : config.gpu
    }
  })
