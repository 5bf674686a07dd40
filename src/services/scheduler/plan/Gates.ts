import * as RateLimit from "../../../domain/RateLimit.js"
import type { ReadyRef } from "../../../domain/Task.js"
import type { Change, Pauses } from "../../store/TaskStore.js"
import type { Books, Rules } from "./Books.js"
import { offer } from "./Books.js"

// What steers dispatch besides rank: pause gates, per-type limits (a blocked type's tasks are
// set aside so others pass them), actor keys, and changes made outside the dispatcher.

// ---------------------------------------------------------------------------------------------
// Gates: pauses, type limits, parking
// ---------------------------------------------------------------------------------------------

/**
 * Whether tasks of `type` may not start now: the type is paused, at its concurrency limit here
 * or across the nodes sharing the store, or its rate limit's allowance is spent.
 */
export const isBlocked = <E>(books: Books<E>, rules: Rules, type: string): boolean => {
  if (books.pausedTypes.has(type) || books.heldElsewhere.has(type) || books.rateHeld.has(type)) return true
  const limit = rules.typeLimit(type)
  return limit !== undefined && (books.typeRunning.get(type) ?? 0) >= limit
}

/** The rate-limit bucket a task's starts count in, with its limit, if its type has a rate limit. */
export const rateOf = (rules: Rules, ref: Pick<ReadyRef, "type" | "rateKey">): { readonly bucket: string; readonly limit: RateLimit.RateLimit } | undefined => {
  const limit = rules.rateLimit?.(ref.type)
  return limit === undefined ? undefined : { bucket: RateLimit.bucketOf(ref.type, ref.rateKey, limit), limit }
}

/**
 * What holds a ready task back now, if anything: its type (see `isBlocked`), or its bucket when
 * its type's rate limit is per key and that key's allowance is spent.
 */
export const gateOf = <E>(books: Books<E>, rules: Rules, ref: ReadyRef): string | undefined => {
  if (isBlocked(books, rules, ref.type)) return ref.type
  if (books.rateHeld.size === 0) return undefined
  const bucket = rateOf(rules, ref)?.bucket
  return bucket !== undefined && books.rateHeld.has(bucket) ? bucket : undefined
}

/** Whether a gate (a type, or a per-key bucket `type/key`) still holds its tasks back. */
const holds = <E>(books: Books<E>, rules: Rules, gate: string): boolean => {
  const { rateKey, type } = RateLimit.partsOf(gate)
  return isBlocked(books, rules, type) || (rateKey !== undefined && books.rateHeld.has(gate))
}

/** Types whose tasks the store should leave out of a ready page. */
export const blockedTypes = <E>(books: Books<E>, rules: Rules): Array<string> => {
  const out = new Set([...books.pausedTypes, ...books.heldElsewhere])
  for (const type of books.typeRunning.keys()) if (isBlocked(books, rules, type)) out.add(type)
  for (const bucket of books.rateHeld.keys()) if (RateLimit.partsOf(bucket).rateKey === undefined) out.add(bucket)
  return [...out]
}

/**
 * Most per-key buckets a ready read leaves out by name (each is a condition of the query, two
 * parameters): past this many, the tasks of the others come back and are set aside again here
 * (`refilled` skips what is parked), rather than the query outgrowing the engine's limits.
 */
export const maxExcludedBuckets = 200

/** Per-key buckets whose tasks the store should leave out of a ready page (their type's others stay). */
export const blockedBuckets = <E>(books: Books<E>): Array<string> => {
  const out: Array<string> = []
  for (const bucket of books.rateHeld.keys()) {
    if (out.length >= maxExcludedBuckets) break
    if (RateLimit.partsOf(bucket).rateKey !== undefined) out.push(bucket)
  }
  return out
}

/**
 * Sets a ready task aside until its gate opens. Bounded: past the mailbox's capacity the task
 * just stays in the store (the refill that follows the unblocking brings it).
 */
export const park = <E>(books: Books<E>, ref: ReadyRef, gate: string) => {
  let list = books.parked.get(gate)
  if (list === undefined) books.parked.set(gate, list = [])
  if (list.length < books.mailbox.capacity) list.push(ref)
}

/** Puts back the parked tasks whose gates opened; the store may hold more of them. */
export const unpark = <E>(books: Books<E>, rules: Rules) => {
  let any = false
  // A type or bucket the last refill left out may have tasks in the store only: look again.
  for (const gate of books.lastExcluded) {
    if (!holds(books, rules, gate)) any = true
  }
  for (const [gate, refs] of books.parked) {
    if (holds(books, rules, gate)) continue
    books.parked.delete(gate)
    for (const ref of refs) offer(books, ref)
    any = true
  }
  if (any) books.mailbox.markStale()
}

/**
 * The store may have changed (another node's write, a poll): types held at their limit
 * elsewhere may run again.
 */
export const storeChanged = <E>(books: Books<E>, rules: Rules) => {
  books.mailbox.markStale()
  if (books.heldElsewhere.size === 0) return
  books.heldElsewhere.clear()
  unpark(books, rules)
}

/**
 * A rate-limit bucket's allowance is spent until `until` (as the store said after a short
 * claim): held back until then. True when the caller must start the timer that reopens it.
 */
export const rateHeld = <E>(books: Books<E>, bucket: string, until: number): boolean => {
  const fresh = !books.rateHeld.has(bucket)
  books.rateHeld.set(bucket, until)
  return fresh
}

/** A held bucket's time came: its tasks may be claimed again. */
export const rateOpened = <E>(books: Books<E>, rules: Rules, bucket: string) => {
  books.rateHeld.delete(bucket)
  unpark(books, rules)
  books.mailbox.markStale()
}

/** Applies the pause gates as read from the store; what was resumed may run again. */
export const applyPauses = <E>(books: Books<E>, rules: Rules, pauses: Pauses) => {
  const wasPaused = books.queuePaused
  books.queuePaused = pauses.queue
  const before = books.pausedTypes
  books.pausedTypes = new Set(pauses.types)
  const resumed = [...before].some((t) => !books.pausedTypes.has(t)) || (wasPaused && !pauses.queue)
  if (resumed) {
    unpark(books, rules)
    books.mailbox.markStale()
  }
}

// ---------------------------------------------------------------------------------------------
// Tasks that became ready, and durable changes
// ---------------------------------------------------------------------------------------------

/**
 * Tasks that became ready in this process: unkeyed ones go to the mailbox. A task with an actor
 * key may run only when it is its key's oldest unfinished task: returns the keys whose heads the
 * store must name (then `offer` each head).
 */
export const ready = <E>(books: Books<E>, refs: ReadonlyArray<ReadyRef>): Array<string> => {
  const keys = new Set<string>()
  for (const ref of refs) {
    if (ref.key === null) offer(books, ref)
    else keys.add(ref.key)
  }
  return [...keys]
}

/** What to do about durable changes made outside the dispatcher. */
export interface Scheduled {
  /** Changes to publish now (a running task's `cancelled` waits for its attempt to end). */
  readonly publish: ReadonlyArray<Change>
  /** Actor keys whose head the store must name (then `offer` each head). */
  readonly keys: ReadonlyArray<string>
  /** A task became delayed or retrying: re-arm the wake-up timer. */
  readonly delayed: boolean
}

/**
 * Durable changes (control, recoveries, a batch's cascade) and actor keys whose attempt ended:
 * unkeyed pending tasks go to the mailbox; keys whose task still runs here wait for its end.
 */
export const changes = <E>(books: Books<E>, changed: ReadonlyArray<Change>, endedKeys: ReadonlyArray<string>): Scheduled => {
  const publish = changed.filter((c) => {
    if (c.status !== "cancelled" || !books.inFlight.has(c.id)) return true
    books.cancelling.add(c.id)
    return false
  })
  const keys = new Set(endedKeys)
  let delayed = false
  for (const c of changed) {
    if (c.key !== null) keys.add(c.key)
    else if (c.status === "pending") offer(books, c)
    if (c.status === "delayed" || c.status === "retrying") delayed = true
  }
  for (const key of keys) if (books.keyRunning.has(key)) keys.delete(key)
  return { publish, keys: [...keys], delayed }
}

