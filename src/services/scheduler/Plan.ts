import type { NonEmptyReadonlyArray } from "effect/Array"
import type { ReadyRef } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { Attempt, Books, Rules, World } from "./plan/Books.js"
import { countBy, laneOf } from "./plan/Books.js"
import * as RateLimit from "../../domain/RateLimit.js"
import { blockedBuckets, blockedTypes, gateOf, rateOf, park, unpark } from "./plan/Gates.js"

// The dispatcher's decisions, as plain synchronous functions of its books: rank order, type
// limits, actor keys, pauses, the resource reservation, crash isolation, batch sizing and
// pipelining. Nothing here performs an effect or reads a clock; each function updates the books
// it is given (owned by the dispatcher fiber) and returns what the dispatcher must do next
// (claim, reserve a worker, read the store, publish, watch for room). Dispatch.ts and
// Dispatcher.ts interpret the answers; Plan.property.test.ts drives these functions against a
// model store and executor and checks the contract (exact order, limits, one attempt per key,
// nothing starved or lost).

export * from "./plan/Books.js"
export { applyPauses, blockedTypes, changes, isBlocked, rateHeld, rateOpened, ready, storeChanged } from "./plan/Gates.js"
export type { Scheduled } from "./plan/Gates.js"
export * from "./plan/Resources.js"

// ---------------------------------------------------------------------------------------------
// The next dispatch
// ---------------------------------------------------------------------------------------------

/** What the dispatcher does next. */
export type Next<E> =
  /** Nothing to do until a command arrives. */
  | { readonly _tag: "Wait" }
  /** Memory pressure closed admission: watch for it to reopen (once), then wait. */
  | { readonly _tag: "WatchAdmission" }
  /** Read the store's best page (leaving out these types and per-key buckets) and `refilled` it. */
  | { readonly _tag: "Refill"; readonly excluded: ReadonlyArray<string>; readonly excludedBuckets: ReadonlyArray<string> }
  /** The best task's type is blocked: it was set aside; decide again. */
  | { readonly _tag: "Parked" }
  /**
   * Reserve room on `executor` for the best task (an idle worker; with `short`, a place behind
   * a short batch is fine too), then `admit` it. No room: `watchRoom`, then wait.
   */
  | { readonly _tag: "Reserve"; readonly executor: E; readonly top: ReadyRef; readonly short: boolean }

/**
 * Decides the dispatcher's next move. `admitting`: memory pressure allows starts; `refilled`:
 * the store was read since the last claim (a second read would find nothing new).
 */
export const next = <E>(books: Books<E>, rules: Rules, world: World<E>, admitting: boolean, refilled: boolean): Next<E> => {
  const { mailbox } = books
  if (books.queuePaused || books.stopping) return wait
  if (!admitting) {
    if (books.watchingAdmission) return wait
    books.watchingAdmission = true
    return { _tag: "WatchAdmission" }
  }
  // Refill when low, or when the store changed behind the mailbox's back (it may hold better
  // tasks than any here).
  if (!mailbox.exhaustive && (mailbox.size < rules.mailboxCapacity / 2 || mailbox.stale)) {
    // Refilled and still empty: everything ready is set aside (waiting for resources).
    if (refilled) {
      if (mailbox.size === 0) return wait
    } else {
      const excluded = blockedTypes(books, rules)
      const excludedBuckets = blockedBuckets(books)
      books.lastExcluded = new Set([...excluded, ...excludedBuckets])
      return { _tag: "Refill", excluded, excludedBuckets }
    }
  }
  const top = mailbox.peek()
  if (top === undefined) return wait
  // A type that is paused or at its limit (or a rate key whose allowance is spent) does not
  // hold up the others: set its task aside.
  const gate = gateOf(books, rules, top)
  if (gate !== undefined) {
    mailbox.take()
    park(books, top, gate)
    return { _tag: "Parked" }
  }
  const executor = world.executorFor(top.type)
  const lane = laneOf(books, executor)
  const { capacity, slots } = world.room(executor)
  const free = capacity - lane.tasks
  if (free <= 0 || lane.runs >= slots) return wait
  // With work in flight and a deep queue, wait until a worthwhile batch fits: many tiny
  // batches cost a claim and a commit each.
  const worthwhile = Math.min(world.maxBatch(executor), Math.ceil(capacity / 2))
  if (lane.tasks > 0 && free < worthwhile && (!mailbox.exhaustive || mailbox.size >= worthwhile)) return wait
  // With no idle worker only a short batch may start, queued behind a short one (pipelining
  // bounded by targetBatch); the best task waits rather than be passed.
  const estimate = books.typeMs.get(top.type)
  const short = estimate !== undefined && estimate <= rules.targetBatchMs && top.resources === null &&
    !books.isolate.has(top.id)
  return { _tag: "Reserve", executor, top, short }
}

const wait: Next<never> = { _tag: "Wait" }

/** The store's best page was read: merge it, leaving out what this process holds already. */
export const refilled = <E>(books: Books<E>, rules: Rules, page: ReadonlyArray<ReadyRef>) => {
  const skip = new Set<TaskId>([
    ...books.inFlight.keys(),
    ...books.claiming,
    ...books.waitingForResources.map((r) => r.id)
  ])
  // Tasks of held per-key buckets the read could not leave out (past maxExcludedBuckets) stay parked.
  for (const [gate, refs] of books.parked) {
    if (RateLimit.partsOf(gate).rateKey !== undefined) for (const ref of refs) skip.add(ref.id)
  }
  books.mailbox.merge(page, skip, rules.mailboxCapacity)
}

/** No room on `executor`: whether a fiber must start watching for room (once per executor). */
export const watchRoom = <E>(books: Books<E>, executor: E): boolean => {
  if (books.watchingRoom.has(executor)) return false
  books.watchingRoom.add(executor)
  return true
}

/** Room may have opened on `executor` (its watcher fired). */
export const roomOpened = <E>(books: Books<E>, executor: E) => {
  books.watchingRoom.delete(executor)
}

// ---------------------------------------------------------------------------------------------
// Taking and claiming a batch
// ---------------------------------------------------------------------------------------------

/** A batch taken from the mailbox, to be claimed under `token`. */
export interface Taken {
  readonly ids: ReadonlyArray<TaskId>
  readonly token: string
  /** Measured work queued in it; infinite when a type is not timed yet. */
  readonly plannedMs: number
  /** Short enough that another short batch may wait behind it on the same worker. */
  readonly short: boolean
  /** The limits of the batch's types that have one, for the store to hold across nodes. */
  readonly limits: ReadonlyMap<string, number>
  /** How many tasks of each limited type the batch asks for. */
  readonly asked: ReadonlyMap<string, number>
  /** The rate limits of the batch's buckets that have one, for the store to take from. */
  readonly rates: ReadonlyMap<string, RateLimit.RateLimit>
  /** The bucket of each task of a rate-limited type. */
  readonly buckets: ReadonlyMap<TaskId, string>
}

/**
 * With room reserved on `executor` (and a permit if the best task declares resources: then it
 * runs alone), takes the batch to claim: the best tasks in rank order, of this executor, within
 * type limits, about `targetBatchMs` of measured work, a suspected crasher alone.
 */
export const take = <E>(
  books: Books<E>,
  rules: Rules,
  world: World<E>,
  executor: E,
  owner: string,
  permit: boolean
): Taken => {
  const { mailbox } = books
  const lane = laneOf(books, executor)
  const { capacity, slots } = world.room(executor)
  const maxBatch = world.maxBatch(executor)
  // Most tasks per request: one when the queue is shallow (latency), up to the executor's
  // maximum when it is deep (throughput). How long tasks take trims it further (below).
  const depth = mailbox.exhaustive ? mailbox.size : Number.MAX_SAFE_INTEGER
  const n = permit ? 1 : Math.max(1, Math.min(capacity - lane.tasks, maxBatch, Math.ceil(depth / Math.max(1, slots))))
  const ids: Array<TaskId> = []
  const refs: Array<ReadyRef> = []
  const perType = new Map<string, number>()
  let planned = 0
  // A task suspected of crashing its thread runs with nothing queued behind it, so a crash is
  // surely its own.
  let isolated = false
  while (ids.length < n) {
    const ref = mailbox.peek()
    if (ref === undefined || world.executorFor(ref.type) !== executor) break
    if (ids.length > 0 && ref.resources !== null) break
    const limit = rules.typeLimit(ref.type)
    const inBatch = perType.get(ref.type) ?? 0
    if (gateOf(books, rules, ref) !== undefined) break
    if (limit !== undefined && (books.typeRunning.get(ref.type) ?? 0) + inBatch >= limit) break
    const alone = books.isolate.has(ref.id)
    if (alone && ids.length > 0) break
    // A batch runs its tasks one after another, so it holds about `targetBatchMs` of measured
    // work: a type not yet timed, or slower than that, runs alone (concurrently with others).
    const estimate = books.typeMs.get(ref.type)
    if (ids.length > 0 && (estimate === undefined || planned + estimate > rules.targetBatchMs)) break
    planned += estimate ?? Number.POSITIVE_INFINITY
    mailbox.take()
    ids.push(ref.id)
    refs.push(ref)
    perType.set(ref.type, inBatch + 1)
    books.claiming.add(ref.id)
    if (alone) {
      books.isolate.delete(ref.id)
      isolated = true
      break
    }
  }
  const limits = new Map<string, number>()
  const rates = new Map<string, RateLimit.RateLimit>()
  const buckets = new Map<TaskId, string>()
  for (const type of perType.keys()) {
    const limit = rules.typeLimit(type)
    if (limit !== undefined) limits.set(type, limit)
  }
  for (const ref of refs) {
    const rate = rateOf(rules, ref)
    if (rate === undefined) continue
    rates.set(rate.bucket, rate.limit)
    buckets.set(ref.id, rate.bucket)
  }
  return {
    ids,
    token: `${owner}:${++books.tokenCounter}`,
    plannedMs: planned,
    short: planned <= rules.targetBatchMs && !permit && !isolated,
    limits,
    asked: new Map([...perType].filter(([type]) => limits.has(type))),
    rates,
    buckets
  }
}

/**
 * The claim committed: the rate-limit buckets of which fewer were claimed than asked (their
 * allowance may be spent: the store says until when).
 */
export const shortBuckets = (taken: Taken, claimed: ReadonlyArray<Attempt>): Array<string> => {
  if (taken.buckets.size === 0) return []
  const asked = new Map<string, number>()
  countBy(asked, taken.buckets.values(), 1)
  const got = new Map<string, number>()
  countBy(got, claimed.map((t) => taken.buckets.get(t.id) ?? null), 1)
  return [...asked].filter(([bucket, n]) => (got.get(bucket) ?? 0) < n).map(([bucket]) => bucket)
}

/**
 * The claim committed: a limited type of which fewer were claimed than asked is at its limit
 * across the nodes (or another node took the tasks): held back until the store changes. Tasks
 * left because their rate-limit bucket is now held (`rateHeld`, read first) do not count: one
 * spent rate key must not hold back its type's other keys.
 */
export const claimedOfLimits = <E>(books: Books<E>, taken: Taken, claimed: ReadonlyArray<Attempt>) => {
  if (taken.asked.size === 0) return
  const got = new Map<string, number>()
  countBy(got, claimed.map((t) => t.type), 1)
  if (books.rateHeld.size > 0 && taken.buckets.size > 0) {
    // Count the rate-held ones as if they had been claimed.
    const claimedIds = new Set(claimed.map((t) => t.id))
    for (const [id, bucket] of taken.buckets) {
      if (!claimedIds.has(id) && books.rateHeld.has(bucket)) countBy(got, [RateLimit.partsOf(bucket).type], 1)
    }
  }
  for (const [type, asked] of taken.asked) if ((got.get(type) ?? 0) < asked) books.heldElsewhere.add(type)
}

/** The claim was committed (or failed): its tasks are no longer being claimed. */
export const claimEnded = <E>(books: Books<E>, ids: ReadonlyArray<TaskId>) => {
  for (const id of ids) books.claiming.delete(id)
}

/** These attempts were claimed and go to `executor`: they enter the books. */
export const claimed = <E>(books: Books<E>, executor: E, tasks: ReadonlyArray<Attempt>) => {
  for (const task of tasks) {
    books.inFlight.set(task.id, task.token)
    books.executorOf.set(task.id, executor)
  }
  countBy(books.typeRunning, tasks.map((t) => t.type), 1)
  countBy(books.keyRunning, tasks.map((t) => t.key), 1)
  const lane = laneOf(books, executor)
  lane.tasks += tasks.length
  lane.runs += 1
}

// ---------------------------------------------------------------------------------------------
// A batch's end
// ---------------------------------------------------------------------------------------------

/** The executor answered a batch: its room is back (the outcomes commit meanwhile). */
export const answered = <E>(books: Books<E>, executor: E, tasks: number) => {
  const lane = laneOf(books, executor)
  lane.tasks -= tasks
  lane.runs -= 1
}

/** What committing a batch's outcomes changed, as the dispatcher's books need it. */
export interface Outcomes {
  /** Executor time per task (batch sizing); undefined when the batch did not run. */
  readonly busyMsPerTask: number | undefined
  /** Attempts given back (pending again): the store has work the mailbox may not. */
  readonly givenBack: boolean
  /** Tasks of a crashed batch, each to run alone next. */
  readonly isolate: ReadonlyArray<TaskId>
}

/** What to do once a batch's attempts have stopped. */
export interface AfterBatch<A extends Attempt> {
  /** Tasks cancelled while they ran here: their `cancelled` event goes out now. */
  readonly cancelled: ReadonlyArray<A>
  /** Actor keys whose attempt ended: their next task may be scheduled. */
  readonly keys: ReadonlyArray<string>
}

/**
 * The batch's attempts have stopped: they leave the books (an interrupted batch, at shutdown,
 * stays in flight so its leases are given back); what their outcomes changed updates the books.
 */
export const ended = <E, A extends Attempt>(
  books: Books<E>,
  rules: Rules,
  tasks: NonEmptyReadonlyArray<A>,
  outcomes: Outcomes | undefined,
  interrupted: boolean
): AfterBatch<A> => {
  countBy(books.typeRunning, tasks.map((t) => t.type), -1)
  countBy(books.keyRunning, tasks.map((t) => t.key), -1)
  // A place of these types opened here: they may be claimed again.
  for (const task of tasks) books.heldElsewhere.delete(task.type)
  if (!interrupted) {
    for (const task of tasks) {
      books.inFlight.delete(task.id)
      books.executorOf.delete(task.id)
    }
  }
  if (outcomes !== undefined) {
    const perTask = outcomes.busyMsPerTask
    if (perTask !== undefined) {
      for (const type of new Set(tasks.map((t) => t.type))) {
        const avg = books.typeMs.get(type)
        books.typeMs.set(type, avg === undefined ? perTask : avg * 0.8 + perTask * 0.2)
      }
    }
    for (const id of outcomes.isolate) books.isolate.add(id)
    if (outcomes.givenBack) books.mailbox.markStale()
  }
  unpark(books, rules)
  return {
    cancelled: tasks.filter((t) => books.cancelling.delete(t.id)),
    keys: [...new Set(tasks.flatMap((t) => (t.key === null ? [] : [t.key])))]
  }
}
