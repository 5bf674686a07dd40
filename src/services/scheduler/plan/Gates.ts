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
 * Whether tasks of `type` may not start now: the type is paused, or at its concurrency limit
 * here or across the nodes sharing the store.
 */
export const isBlocked = <E>(books: Books<E>, rules: Rules, type: string): boolean => {
  if (books.pausedTypes.has(type) || books.heldElsewhere.has(type)) return true
  const limit = rules.typeLimit(type)
  return limit !== undefined && (books.typeRunning.get(type) ?? 0) >= limit
}

/** Types whose tasks the store should leave out of a ready page. */
export const blockedTypes = <E>(books: Books<E>, rules: Rules): Array<string> => {
  const out = new Set([...books.pausedTypes, ...books.heldElsewhere])
  for (const type of books.typeRunning.keys()) if (isBlocked(books, rules, type)) out.add(type)
  return [...out]
}

/**
 * Sets a ready task aside until its type may run again. Bounded: past the mailbox's capacity
 * the task just stays in the store (the refill that follows the unblocking brings it).
 */
export const park = <E>(books: Books<E>, ref: ReadyRef) => {
  let list = books.parked.get(ref.type)
  if (list === undefined) books.parked.set(ref.type, list = [])
  if (list.length < books.mailbox.capacity) list.push(ref)
}

/** Puts back the parked tasks of types that may run again; the store may hold more of them. */
export const unpark = <E>(books: Books<E>, rules: Rules) => {
  let any = false
  // A type the last refill left out may have tasks in the store only: look again.
  for (const type of books.lastExcluded) {
    if (!isBlocked(books, rules, type)) any = true
  }
  for (const [type, refs] of books.parked) {
    if (isBlocked(books, rules, type)) continue
    books.parked.delete(type)
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

