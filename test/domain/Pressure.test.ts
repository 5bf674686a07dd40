import { describe, expect, it } from "@effect/vitest"
import * as Pressure from "../../src/domain/Pressure.js"

const settings: Pressure.Settings = { threshold: 0.85, minFreeMb: 300, relief: 0.75, calmSamples: 3, minWorkers: 1, maxWorkers: 4 }
const at = (usedShare: number, limitMb = 10_000): Pressure.MemorySample => ({ limitMb, usedMb: usedShare * limitMb })

const run = (samples: ReadonlyArray<Pressure.MemorySample>) => {
  let state = Pressure.initial(settings)
  return samples.map((s) => {
    state = Pressure.step(state, s, settings)
    return `${state.underPressure ? "P" : "-"}${state.target}`
  })
}

describe("Pressure.step", () => {
  it("shrinks one worker per sample under pressure, reopens after a calm stretch, grows back step by step", () => {
    const trace = run([
      at(0.5), at(0.9), at(0.9), at(0.9), at(0.9), at(0.9),
      at(0.8), at(0.8), // below the threshold but above relief: still under pressure
      at(0.5), at(0.5), at(0.5), // calm ×3: admission reopens
      at(0.5), at(0.5), at(0.5), // +1
      at(0.5), at(0.5), at(0.5), // +1
      at(0.5), at(0.5), at(0.5) // +1: back at max
    ])
    expect(trace).toStrictEqual([
      "-4", "P3", "P2", "P1", "P1", "P1",
      "P1", "P1",
      "P1", "P1", "-1",
      "-1", "-1", "-2",
      "-2", "-2", "-3",
      "-3", "-3", "-4"
    ])
  })

  it("free memory under the minimum is pressure even at a low share; hovering at the threshold does not flap", () => {
    expect(Pressure.isPressure({ limitMb: 1000, usedMb: 750 }, settings)).toBe(true) // 250 MiB free
    expect(Pressure.isPressure(at(0.5), settings)).toBe(false)
    const hovering = run([at(0.86), at(0.84), at(0.86), at(0.84), at(0.86), at(0.84)])
    expect(hovering.every((s) => s.startsWith("P"))).toBe(true)
  })
})
