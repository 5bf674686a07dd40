import { describe, expect, it } from "@effect/vitest"
import * as Arr from "effect/Array"
import * as fc from "fast-check"
import * as Rank from "../../../src/domain/Rank.js"
import type { ReadyRef } from "../../../src/domain/Task.js"
import * as TaskId from "../../../src/domain/TaskId.js"
import { Mailbox } from "../../../src/services/scheduler/Mailbox.js"
import * as Plan from "../../../src/services/scheduler/Plan.js"

// The whole dispatcher's decisions (Plan.ts) driven as the dispatcher drives them, against a
// model of the store (pending/running/done tasks, actor-key heads, a ready page that leaves
// blocked types out) and of two executors: a pool of threads (an idle thread, or a place behind
// a short batch) and fibers. Random submits, delayed tasks waking behind the mailbox's back,
// batches ending or crashing, pauses and resumes; after every step the contract must hold:
// - exact order: every claimed task is the best task its executor could run — highest rank,
//   FIFO within a rank — among those not blocked by a pause, a type limit or its actor key;
// - type limits are never exceeded; one running attempt per actor key, the key's oldest;
// - a task is claimed only while pending (one attempt at a time), room is never exceeded;
// - nothing starved or lost: with everything resumed, the queue drains completely.

type Exec = "threads" | "fibers"
type Status = "pending" | "delayed" | "running" | "done"

interface ModelTask {
  readonly ref: ReadyRef
  status: Status
}

interface RunningBatch {
  readonly executor: Exec
  readonly tasks: Arr.NonEmptyReadonlyArray<Plan.Attempt>
  readonly thread: number
  readonly short: boolean
}

const STEP = 3
const MAX_BATCH = 4
const LIMITS: Record<string, number | undefined> = { a: 2, b: undefined, c: 2 }

type Op =
  | {
    readonly _tag: "submit"
    readonly type: string
    /** One task per entry, submitted together (a burst builds a queue: batches form). */
    readonly priorities: ReadonlyArray<number>
    readonly key: string | null
    readonly delayed: boolean
  }
  | { readonly _tag: "wake" }
  | { readonly _tag: "finish"; readonly pick: number; readonly ms: number }
  | { readonly _tag: "crash"; readonly pick: number }
  | { readonly _tag: "pause" | "resume"; readonly type: string }

const type = fc.constantFrom("a", "b", "c")
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      _tag: fc.constant("submit" as const),
      type,
      priorities: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
      key: fc.constantFrom(null, null, null, "k1", "k2"),
      delayed: fc.boolean()
    })
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "wake" as const }) },
  {
    weight: 5,
    arbitrary: fc.record({ _tag: fc.constant("finish" as const), pick: fc.nat(), ms: fc.integer({ min: 1, max: 20 }) })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("crash" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constantFrom("pause" as const, "resume" as const), type }) }
)

const simulate = (ops: ReadonlyArray<Op>, mailboxCapacity: number, threads: number) => {
  const rules: Plan.Rules = { typeLimit: (t) => LIMITS[t], mailboxCapacity, targetBatchMs: 10 }
  const world: Plan.World<Exec> = {
    executorFor: (t) => (t === "c" ? "fibers" : "threads"),
    room: (e) => (e === "threads" ? { capacity: threads * 2 * MAX_BATCH, slots: threads * 2 } : { capacity: 3, slots: 3 }),
    maxBatch: () => MAX_BATCH
  }
  const books = Plan.makeBooks<Exec>(new Mailbox(mailboxCapacity), new Map())
  const tasks = new Map<string, ModelTask>()
  const running: Array<RunningBatch> = []
  const paused = new Set<string>()
  let now = 0
  let seq = 0
  let claims = 0

  // ---- the store, as its SQL does it --------------------------------------------------------
  const unfinished = (t: ModelTask) => t.status !== "done"
  const isKeyHead = (t: ModelTask) =>
    t.ref.key === null ||
    ![...tasks.values()].some((o) => o.ref.key === t.ref.key && unfinished(o) && o.ref.seq < t.ref.seq)
  const readyRefs = (excluded: ReadonlySet<string>) =>
    [...tasks.values()]
      .filter((t) => t.status === "pending" && !excluded.has(t.ref.type) && isKeyHead(t))
      .map((t) => t.ref)
      .sort(Rank.compare)
  const keyHeads = (keys: ReadonlyArray<string>) =>
    keys.flatMap((key) => {
      const head = [...tasks.values()].filter((t) => t.ref.key === key && unfinished(t)).sort((x, y) => x.ref.seq - y.ref.seq)[0]
      return head !== undefined && head.status === "pending" ? [head.ref] : []
    })
  const claim = (ids: ReadonlyArray<string>, token: string): Array<Plan.Attempt> =>
    ids.flatMap((id) => {
      const t = tasks.get(id)!
      if (t.status !== "pending") return []
      t.status = "running"
      return [{ id: t.ref.id, type: t.ref.type, key: t.ref.key, token }]
    })

  // ---- the executors ------------------------------------------------------------------------
  const batchesOn = (thread: number) => running.filter((b) => b.executor === "threads" && b.thread === thread)
  const reserve = (executor: Exec, short: boolean): number | undefined => {
    if (executor === "fibers") return -1
    for (let i = 0; i < threads; i++) if (batchesOn(i).length === 0) return i
    if (!short) return undefined
    for (let i = 0; i < threads; i++) {
      const on = batchesOn(i)
      if (on.length === 1 && on[0]!.short) return i
    }
    return undefined
  }

  // ---- the contract, checked at each claim --------------------------------------------------
  const runningOf = (pred: (t: ModelTask) => boolean) => [...tasks.values()].filter((t) => t.status === "running" && pred(t)).length
  const checkClaim = (executor: Exec, ids: ReadonlyArray<string>) => {
    const taken = new Set<string>()
    for (const id of ids) {
      const t = tasks.get(id)
      expect(t?.status, `claimed ${id} while not pending`).toBe("pending")
      const eligible = [...tasks.values()].filter((o) => {
        if (o.status !== "pending" || taken.has(o.ref.id) || world.executorFor(o.ref.type) !== executor) return false
        if (paused.has(o.ref.type)) return false
        const limit = LIMITS[o.ref.type]
        const inBatch = [...taken].filter((x) => tasks.get(x)!.ref.type === o.ref.type).length
        if (limit !== undefined && runningOf((r) => r.ref.type === o.ref.type) + inBatch >= limit) return false
        return isKeyHead(o) && ![...taken].some((x) => o.ref.key !== null && tasks.get(x)!.ref.key === o.ref.key)
      }).map((o) => o.ref).sort(Rank.compare)
      expect(eligible[0]?.id, `claimed ${id} while a better task waited`).toBe(id)
      taken.add(id)
    }
  }
  const checkBooks = () => {
    for (const [t, limit] of Object.entries(LIMITS)) {
      if (limit !== undefined) expect(runningOf((r) => r.ref.type === t)).toBeLessThanOrEqual(limit)
    }
    for (const key of ["k1", "k2"]) {
      const mine = [...tasks.values()].filter((t) => t.ref.key === key)
      const live = mine.filter((t) => t.status === "running")
      expect(live.length).toBeLessThanOrEqual(1)
      if (live.length === 1) expect(mine.filter((t) => unfinished(t)).sort((x, y) => x.ref.seq - y.ref.seq)[0]).toBe(live[0])
    }
    for (const e of ["threads", "fibers"] as const) {
      const lane = books.lanes.get(e)
      if (lane === undefined) continue
      expect(lane.tasks).toBeLessThanOrEqual(world.room(e).capacity)
      expect(lane.runs).toBeLessThanOrEqual(world.room(e).slots)
    }
  }

  // ---- the dispatcher's loop, as Dispatch.step performs Plan's answers -----------------------
  const dispatch = () => {
    for (let turn = 0; turn < 10_000; turn++) {
      let refilled = false
      let next = Plan.next(books, rules, world, true, refilled)
      while (next._tag === "Refill") {
        Plan.refilled(books, rules, readyRefs(new Set(next.excluded)).slice(0, rules.mailboxCapacity))
        refilled = true
        next = Plan.next(books, rules, world, true, refilled)
      }
      if (next._tag === "Wait" || next._tag === "WatchAdmission") return
      if (next._tag === "Parked") continue
      const thread = reserve(next.executor, false) ?? (next.short ? reserve(next.executor, true) : undefined)
      if (thread === undefined) {
        Plan.watchRoom(books, next.executor)
        return
      }
      const taken = Plan.take(books, rules, world, next.executor, "me", false)
      checkClaim(next.executor, taken.ids)
      const attempts = claim(taken.ids, taken.token)
      Plan.claimEnded(books, taken.ids)
      if (!Arr.isNonEmptyReadonlyArray(attempts)) continue
      claims++
      Plan.claimed(books, next.executor, attempts)
      running.push({ executor: next.executor, tasks: attempts, thread, short: taken.short })
      checkBooks()
    }
    throw new Error("the dispatcher never settled")
  }

  const afterBatch = (batch: RunningBatch, outcomes: Plan.Outcomes) => {
    running.splice(running.indexOf(batch), 1)
    Plan.answered(books, batch.executor, batch.tasks.length)
    const after = Plan.ended(books, rules, batch.tasks, outcomes, false)
    const scheduled = Plan.changes(books, [], after.keys)
    for (const head of keyHeads(scheduled.keys)) Plan.offer(books, head)
    if (books.watchingRoom.has(batch.executor)) Plan.roomOpened(books, batch.executor)
  }

  const apply = (o: Op) => {
    now++
    switch (o._tag) {
      case "submit": {
        const refs = o.priorities.map((priority): ReadyRef => {
          const s = ++seq
          return { id: TaskId.unsafeMake(`t${s}`), type: o.type, priority, rank: Rank.rank(now, priority, STEP), seq: s, key: o.key, resources: null }
        })
        for (const ref of refs) tasks.set(ref.id, { ref, status: o.delayed ? "delayed" : "pending" })
        if (!o.delayed) for (const head of keyHeads(Plan.ready(books, refs))) Plan.offer(books, head)
        break
      }
      case "wake": {
        // Delayed tasks come due in the store; the dispatcher only hears that it changed.
        for (const t of tasks.values()) if (t.status === "delayed") t.status = "pending"
        books.mailbox.markStale()
        break
      }
      case "finish": {
        const batch = running[o.pick % Math.max(1, running.length)]
        if (batch === undefined) break
        for (const t of batch.tasks) tasks.get(t.id)!.status = "done"
        afterBatch(batch, { busyMsPerTask: o.ms, givenBack: false, isolate: [] })
        break
      }
      case "crash": {
        const batch = running[o.pick % Math.max(1, running.length)]
        if (batch === undefined || batch.executor !== "threads") break
        // The thread died: the attempts are given back uncounted; several run alone next.
        for (const t of batch.tasks) tasks.get(t.id)!.status = "pending"
        afterBatch(batch, {
          busyMsPerTask: undefined,
          givenBack: true,
          isolate: batch.tasks.length > 1 ? batch.tasks.map((t) => t.id) : []
        })
        break
      }
      case "pause":
      case "resume": {
        if (o._tag === "pause") paused.add(o.type)
        else paused.delete(o.type)
        Plan.applyPauses(books, rules, { queue: false, types: [...paused] })
        break
      }
    }
    dispatch()
  }

  for (const o of ops) apply(o)
  // Drain: everything resumed and due; batches end until nothing is left.
  paused.clear()
  apply({ _tag: "resume", type: "a" })
  apply({ _tag: "wake" })
  for (let i = 0; running.length > 0; i++) {
    expect(i).toBeLessThan(10_000)
    apply({ _tag: "finish", pick: 0, ms: 5 })
  }
  const left = [...tasks.values()].filter((t) => t.status !== "done").map((t) => t.ref.id)
  expect(left, "tasks never started").toEqual([])
  return claims
}

describe("Plan, the dispatcher's decisions, property", () => {
  it("exact order, limits, one attempt per key, nothing starved or lost — whatever the interleaving", () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 120, size: "large" }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        (ops, capacity, threads) => {
          simulate(ops, capacity, threads)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("batches: a deep queue of a measured short type goes in batches, a shallow one task by task", () => {
    const burst = (n: number): Op => ({ _tag: "submit", type: "b", priorities: Array.from({ length: n }, () => 1), key: null, delayed: false })
    // Time the type first (one finished batch), then queue 40 at once: a few batches.
    expect(simulate([burst(1), { _tag: "finish", pick: 0, ms: 1 }, burst(40)], 64, 1)).toBeLessThanOrEqual(20)
  })
})
