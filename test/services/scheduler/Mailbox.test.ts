import { describe, expect, it } from "@effect/vitest"
import type { ReadyRef } from "../../../src/domain/Task.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import { Mailbox } from "../../../src/services/scheduler/Mailbox.js"

const ref = (seq: number, rank: number): ReadyRef => ({ id: TaskId.unsafeMake(`t${seq}`), type: "x", priority: 0, rank, seq, key: null, resources: null })

const drain = (m: Mailbox) => {
  const out: Array<number> = []
  for (let r = m.take(); r !== undefined; r = m.take()) out.push(r.seq)
  return out
}

describe("Mailbox", () => {
  it("orders by rank, then FIFO by sequence for equal ranks", () => {
    const m = new Mailbox(100)
    m.exhaustive = true
    ;[ref(1, 5), ref(2, 1), ref(3, 5), ref(4, 1), ref(5, 3)].forEach((r) => m.offer(r))
    expect(drain(m)).toStrictEqual([2, 4, 5, 1, 3])
  })

  it("is bounded: when full, a better task evicts the worst and the mailbox stops being exhaustive", () => {
    const m = new Mailbox(3)
    m.exhaustive = true
    ;[ref(1, 10), ref(2, 20), ref(3, 30)].forEach((r) => m.offer(r))
    m.offer(ref(4, 5))
    expect(m.size).toBe(3)
    expect(m.exhaustive).toBe(false)
    m.offer(ref(5, 99)) // worse than everything held: it waits in the store
    expect(drain(m)).toStrictEqual([4, 1, 2])
  })

  it("merges a page from the store, keeping the best `capacity` and skipping tasks in flight", () => {
    const m = new Mailbox(3)
    m.offer(ref(1, 10))
    const page = [ref(2, 1), ref(1, 10), ref(3, 2), ref(4, 50)]
    m.merge(page, new Set([TaskId.unsafeMake("t3")]), 4)
    expect(m.exhaustive).toBe(false) // the page was full
    expect(drain(m)).toStrictEqual([2, 1, 4])
    m.merge([ref(9, 1)], new Set(), 4)
    expect(m.exhaustive).toBe(true) // a short page: nothing else is pending
  })
})
