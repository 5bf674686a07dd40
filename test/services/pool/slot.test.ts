import { describe, expect, it } from "@effect/vitest"
import * as Slot from "../../../src/services/pool/slot.js"

// The slot lifecycle's transitions, as pure functions of the slot (the thread is opaque here).
const thread = (): Slot.Thread => ({}) as never

describe("slot lifecycle", () => {
  it("starts Starting, serves once its thread started; a failed start says why until one succeeds", () => {
    const slot = Slot.make(0, 0)
    expect(slot.phase._tag).toBe("Starting")
    Slot.startFailed(slot, "boom")
    expect(Slot.stats(slot, 0, 5000)).toMatchObject({ state: "failed", startError: "boom" })
    Slot.started(slot, thread(), false, 10)
    expect(Slot.serving(slot)).toBe(true)
    expect(Slot.counts(slot)).toBe(true)
  })

  it("a thread started above the target drains at once (retiring), and is not counted", () => {
    const slot = Slot.make(3, 0)
    Slot.started(slot, thread(), true, 0)
    expect(slot.phase).toMatchObject({ _tag: "Draining", reason: "retiring" })
    expect(Slot.serving(slot)).toBe(false)
    expect(Slot.counts(slot)).toBe(false)
  })

  it("a kill overrides recycling or retiring, nothing overrides a kill; a retiring thread wanted again serves", () => {
    const slot = Slot.make(0, 0)
    Slot.started(slot, thread(), false, 0)
    expect(Slot.drain(slot, "recycling")).toBe(true)
    expect(Slot.drain(slot, "retiring")).toBe(false)
    expect(Slot.serve(slot)).toBe(false)
    expect(Slot.drain(slot, "killed")).toBe(true)
    expect(Slot.killed(slot)).toBe(true)
    expect(Slot.drain(slot, "recycling")).toBe(false)
    expect(Slot.killed(slot)).toBe(true)

    const other = Slot.make(1, 0)
    Slot.started(other, thread(), false, 0)
    Slot.drain(other, "retiring")
    expect(Slot.serve(other)).toBe(true)
    expect(Slot.serving(other)).toBe(true)
  })

  it("stopping a thread bumps the generation and leaves the slot Empty or Starting; an empty slot wanted again starts", () => {
    const slot = Slot.make(0, 0)
    const t = thread()
    Slot.started(slot, t, false, 0)
    expect(Slot.stop(slot, "Starting")).toBe(t)
    expect(slot.generation).toBe(1)
    expect(slot.phase).toMatchObject({ _tag: "Starting", error: undefined })
    Slot.started(slot, thread(), false, 0)
    Slot.stop(slot, "Empty")
    expect(slot.generation).toBe(2)
    expect(Slot.threadOf(slot)).toBeUndefined()
    expect(Slot.wanted(slot)).toBe(true)
    expect(slot.phase._tag).toBe("Starting")
    expect(Slot.wanted(slot)).toBe(false)
  })
})
