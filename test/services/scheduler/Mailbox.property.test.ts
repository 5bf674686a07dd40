import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Rank from "../../../src/domain/Rank.js"
import type { ReadyRef } from "../../../src/domain/Task.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import { Mailbox } from "../../../src/services/scheduler/Mailbox.js"

// The ready mailbox with its store behind it, as the dispatcher drives them: submits offer to
// the mailbox, a take refills from the store's best page when the mailbox runs low. Whatever
// the interleaving and however small the mailbox, every take is the best pending task —
// highest rank first, FIFO within a rank — exactly what a sort of the store would give.

// "woken": a task becomes ready in the store behind the mailbox's back (a timer, another
// process, a recovery): the dispatcher only hears that the store changed.
type Op = { readonly _tag: "submit" | "woken"; readonly rank: number } | { readonly _tag: "take" }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ _tag: fc.constant("submit" as const), rank: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ _tag: fc.constant("woken" as const), rank: fc.integer({ min: 0, max: 20 }) }),
  fc.constant({ _tag: "take" as const })
)

const ref = (seq: number, rank: number): ReadyRef => ({ id: TaskId.unsafeMake(`t${seq}`), type: "x", priority: 0, rank, seq, key: null, resources: null })

describe("Mailbox and store, property", () => {
  it("every take is the best pending task, FIFO within a rank, whatever the mailbox size", () =>
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 8 }), (ops, capacity) => {
        const mailbox = new Mailbox(capacity)
        const store = new Map<number, ReadyRef>()
        let seq = 0
        const bestPage = () => [...store.values()].sort(Rank.compare).slice(0, capacity)
        for (const o of ops) {
          if (o._tag !== "take") {
            const r = ref(++seq, o.rank)
            store.set(r.seq, r)
            if (o._tag === "submit") mailbox.offer(r)
            else mailbox.markStale()
            continue
          }
          if (!mailbox.exhaustive && (mailbox.size < capacity / 2 || mailbox.stale)) mailbox.merge(bestPage(), new Set(), capacity)
          const taken = mailbox.take()
          const expected = [...store.values()].sort(Rank.compare)[0]
          expect(taken?.seq).toBe(expected?.seq)
          if (taken !== undefined) store.delete(taken.seq)
        }
      }),
      { numRuns: 1000 }
    ))

  it("aging: a task of priority p is never passed by one of priority P > p ready more than (P − p) × step after it", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 999 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        (p, diff, readyAt, later, step) => {
          const P = Math.min(1000, p + diff)
          const low = { rank: Rank.rank(readyAt, p, step), seq: 1 }
          const high = { rank: Rank.rank(readyAt + (P - p) * step + later, P, step), seq: 2 }
          expect(Rank.compare(low, high)).toBeLessThan(0)
        }
      )
    ))
})
