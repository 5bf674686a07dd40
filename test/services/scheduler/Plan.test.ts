import { describe, expect, it } from "@effect/vitest"
import type { ReadyRef } from "../../../src/domain/Task.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import { Mailbox } from "../../../src/services/scheduler/Mailbox.js"
import * as Plan from "../../../src/services/scheduler/Plan.js"

// A type's limit held across nodes: what the dispatcher does when the store claims fewer tasks
// of a limited type than it asked for (other nodes run the rest of the limit).

const ref = (n: number, type: string): ReadyRef =>
  ({ id: TaskId.unsafeMake(`t${n}`), type, priority: 10, rank: n, seq: n, key: null, resources: null })

describe("Plan: limits held by other nodes", () => {
  const rules: Plan.Rules = { typeLimit: (t) => (t === "limited" ? 2 : undefined), mailboxCapacity: 16, targetBatchMs: 10 }
  const world: Plan.World<"fibers"> = { executorFor: () => "fibers", room: () => ({ capacity: 8, slots: 8 }), maxBatch: () => 1 }

  it("a short claim holds the type back (others pass) until the store changes", () => {
    const books = Plan.makeBooks<"fibers">(new Mailbox(16), new Map())
    Plan.refilled(books, rules, [ref(1, "limited"), ref(2, "limited"), ref(3, "other")])
    const taken = Plan.take(books, rules, world, "fibers", "me", false)
    expect([taken.ids, [...taken.limits], [...taken.asked]]).toStrictEqual([["t1"], [["limited", 2]], [["limited", 1]]])
    Plan.claimEnded(books, taken.ids)
    // The store gave nothing: the other nodes hold the limit.
    Plan.claimedOfLimits(books, taken, [])
    expect(Plan.isBlocked(books, rules, "limited")).toBe(true)
    // The limited type's next task is set aside; the other type is dispatched, not held up.
    const parked = Plan.next(books, rules, world, true, true)
    expect(parked._tag).toBe("Parked")
    const next = Plan.next(books, rules, world, true, true)
    expect(next._tag === "Reserve" ? next.top.id : next._tag).toBe("t3")
    // Another node's write (or the poll): the type may be claimed again; the store is read
    // again, its tasks included.
    Plan.storeChanged(books, rules)
    expect(Plan.isBlocked(books, rules, "limited")).toBe(false)
    expect(Plan.next(books, rules, world, true, false)).toStrictEqual({ _tag: "Refill", excluded: [], excludedBuckets: [] })
  })

  it("a full claim holds nothing back", () => {
    const books = Plan.makeBooks<"fibers">(new Mailbox(16), new Map())
    Plan.refilled(books, rules, [ref(1, "limited")])
    const taken = Plan.take(books, rules, world, "fibers", "me", false)
    Plan.claimedOfLimits(books, taken, [{ id: TaskId.unsafeMake("t1"), type: "limited", key: null, token: taken.token }])
    expect(Plan.isBlocked(books, rules, "limited")).toBe(false)
  })
})

describe("Plan: rate limits", () => {
  const perKey = { limit: 1, perMs: 1000, byKey: true }
  const rules: Plan.Rules = {
    typeLimit: (t) => (t === "api" ? 10 : undefined),
    rateLimit: (t) => (t === "api" ? perKey : undefined),
    mailboxCapacity: 16,
    targetBatchMs: 10
  }
  const world: Plan.World<"fibers"> = { executorFor: () => "fibers", room: () => ({ capacity: 8, slots: 1 }), maxBatch: () => 8 }
  const keyed = (n: number, rateKey: string): ReadyRef => ({ ...ref(n, "api"), rateKey })

  it("a spent rate key is held until it reopens: its tasks set aside and left out of reads, the type's other keys go on", () => {
    const books = Plan.makeBooks<"fibers">(new Mailbox(16), new Map())
    Plan.refilled(books, rules, [keyed(1, "a"), keyed(2, "a"), keyed(3, "b")])
    // Timed as short: a batch may hold several.
    books.typeMs.set("api", 1)
    const taken = Plan.take(books, rules, world, "fibers", "me", false)
    expect([taken.ids, [...taken.rates.keys()]]).toStrictEqual([["t1", "t2", "t3"], ["api/a", "api/b"]])
    Plan.claimEnded(books, taken.ids)
    // The store took one of a's (its allowance) and b's.
    const claimed = [{ id: TaskId.unsafeMake("t1"), type: "api", key: null, token: taken.token }, { id: TaskId.unsafeMake("t3"), type: "api", key: null, token: taken.token }]
    expect(Plan.shortBuckets(taken, claimed)).toStrictEqual(["api/a"])
    expect(Plan.rateHeld(books, "api/a", 1000)).toBe(true)
    Plan.claimedOfLimits(books, taken, claimed)
    // Not the whole type: the task left behind is a's, held for its rate.
    expect(Plan.isBlocked(books, rules, "api")).toBe(false)
    // a's tasks are left out of the next read by bucket, the type is not.
    Plan.refilled(books, rules, [keyed(2, "a"), keyed(4, "b")])
    expect(Plan.next(books, rules, world, true, true)._tag).toBe("Parked")
    const next = Plan.next(books, rules, world, true, true)
    expect(next._tag === "Reserve" ? next.top.id : next._tag).toBe("t4")
    books.mailbox.markStale()
    expect(Plan.next(books, rules, world, true, false)).toStrictEqual({ _tag: "Refill", excluded: [], excludedBuckets: ["api/a"] })
    // Reopened: the store is read again, a's tasks no longer left out, and a's task comes first.
    Plan.rateOpened(books, rules, "api/a")
    expect(Plan.next(books, rules, world, true, false)).toStrictEqual({ _tag: "Refill", excluded: [], excludedBuckets: [] })
    Plan.refilled(books, rules, [keyed(2, "a"), keyed(4, "b")])
    const again = Plan.next(books, rules, world, true, true)
    expect(again._tag === "Reserve" ? again.top.id : again._tag).toBe("t2")
  })
})
