import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Claimed, ReadyRef } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { Change, Pauses } from "../store/TaskStore.js"
import type { Mailbox } from "./Mailbox.js"

// The dispatcher's decisions, as plain synchronous functions of its books: rank order, type
// limits, actor keys, pauses, the resource reservation, crash isolation, batch sizing and
// pipelining. Nothing here performs an effect or reads a clock; each function updates the books
// it is given (owned by the dispatcher fiber) and returns what the dispatcher must do next
// (claim, reserve a worker, read the store, publish, watch for room). Dispatch.ts and
// Dispatcher.ts interpret the answers; Plan.property.test.ts drives these functions against a
// model store and executor and checks the contract (exact order, limits, one attempt per key,
// nothing starved or lost).

/** What the books need of a claimed attempt. */
export type Attempt = Pick<Claimed, "id" | "type" | "key" | "token">

/** The settings the decisions depend on. */
export interface Rules {
  /** Most attempts of a type running at once in this process (undefined: no limit). */
  readonly typeLimit: (type: string) => number | undefined
  /** Size of the in-memory ready mailbox. */
  readonly mailboxCapacity: number
  /** Aim for batches that take about this long, so long tasks go one at a time. */
  readonly targetBatchMs: number
}

/** Per-executor accounting: what is in flight (for capacity and batch sizing). */
export interface Lane {
  tasks: number
  runs: number
}

/** An executor's room as it is now: tasks it can hold, requests it serves at once. */
export interface Room {
  readonly capacity: number
  readonly slots: number
}

/** What the dispatcher reads of its executors (synchronous reads; E: the executor). */
export interface World<E> {
  readonly executorFor: (type: string) => E
  readonly room: (executor: E) => Room
  readonly maxBatch: (executor: E) => number
}

/** The dispatcher's books. One fiber owns them; other fibers may only read `inFlight`. */
export interface Books<E> {
  readonly mailbox: Mailbox
  /** Claimed by this process and not finished: id → lease token. */
  readonly inFlight: Map<TaskId, string>
  /** Which executor runs each in-flight attempt (to interrupt it). */
  readonly executorOf: Map<TaskId, E>
  /** Taken from the mailbox, claim not yet committed. */
  readonly claiming: Set<TaskId>
  readonly lanes: Map<E, Lane>
  /** Moving average of executor busy time per task, by task type (unknown until timed). */
  readonly typeMs: Map<string, number>
  /** Tasks whose batch lost its thread: each runs alone next, so only the culprit fails. */
  readonly isolate: Set<TaskId>
  /** Attempts running in this process, by type (per-type limits). */
  readonly typeRunning: Map<string, number>
  /** Ready tasks set aside because their type is paused or at its limit. */
  readonly parked: Map<string, Array<ReadyRef>>
  /** Attempts running in this process, by actor key: a key's next task waits for its end. */
  readonly keyRunning: Map<string, number>
  /** Types the last refill left out of its page (their tasks may be in the store). */
  lastExcluded: ReadonlySet<string>
  /** Cancelled while running here: their `cancelled` event waits for the attempt to end. */
  readonly cancelling: Set<TaskId>
  /** Ready tasks set aside until resources are released (in rank order). */
  readonly waitingForResources: Array<ReadyRef>
  /** The best task waiting for resources: what it needs is kept free for it (reservation). */
  reserved: ReadyRef | undefined
  queuePaused: boolean
  /** Shutting down: claim nothing more. */
  stopping: boolean
  /** A fiber waits for memory pressure to reopen admission, and will tell the dispatcher. */
  watchingAdmission: boolean
  /** Executors a fiber watches for room to open (it will tell the dispatcher). */
  readonly watchingRoom: Set<E>
  pausedTypes: ReadonlySet<string>
  tokenCounter: number
}

export const makeBooks = <E>(mailbox: Mailbox, inFlight: Map<TaskId, string>): Books<E> => ({
  mailbox,
  inFlight,
  executorOf: new Map(),
  claiming: new Set(),
  lanes: new Map(),
  typeMs: new Map(),
  isolate: new Set(),
  typeRunning: new Map(),
  parked: new Map(),
  waitingForResources: [],
  keyRunning: new Map(),
  lastExcluded: new Set(),
  cancelling: new Set(),
  reserved: undefined,
  queuePaused: false,
  stopping: false,
  watchingAdmission: false,
  watchingRoom: new Set(),
  pausedTypes: new Set(),
  tokenCounter: 0
})

// ---------------------------------------------------------------------------------------------
// Gates: pauses, type limits, parking
// ---------------------------------------------------------------------------------------------

/** Whether tasks of `type` may not start now: the type is paused or at its concurrency limit. */
export const isBlocked = <E>(books: Books<E>, rules: Rules, type: string): boolean => {
  if (books.pausedTypes.has(type)) return true
  const limit = rules.typeLimit(type)
  return limit !== undefined && (books.typeRunning.get(type) ?? 0) >= limit
}

/** Types whose tasks the store should leave out of a ready page. */
export const blockedTypes = <E>(books: Books<E>, rules: Rules): Array<string> => {
  const out = new Set(books.pausedTypes)
  for (const type of books.typeRunning.keys()) if (isBlocked(books, rules, type)) out.add(type)
  return [...out]
}

/**
 * Sets a ready task aside until its type may run again. Bounded: past the mailbox's capacity
 * the task just stays in the store (the refill that follows the unblocking brings it).
 */
const park = <E>(books: Books<E>, ref: ReadyRef) => {
  let list = books.parked.get(ref.type)
  if (list === undefined) books.parked.set(ref.type, list = [])
  if (list.length < books.mailbox.capacity) list.push(ref)
}

/** Puts back the parked tasks of types that may run again; the store may hold more of them. */
const unpark = <E>(books: Books<E>, rules: Rules) => {
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
 * Offers a ready task to the mailbox unless this process is still claiming or running it (an
 * attempt that ended but has not left the books yet): then the next refill finds it instead.
 */
export const offer = <E>(books: Books<E>, ref: ReadyRef) => {
  if (books.claiming.has(ref.id) || books.inFlight.has(ref.id)) {
    books.mailbox.markStale()
    return
  }
  books.mailbox.offer(ref)
}

const countBy = (counts: Map<string, number>, keys: Iterable<string | null>, delta: number) => {
  for (const key of keys) {
    if (key === null) continue
    const n = (counts.get(key) ?? 0) + delta
    if (n <= 0) counts.delete(key)
    else counts.set(key, n)
  }
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

// ---------------------------------------------------------------------------------------------
// The next dispatch
// ---------------------------------------------------------------------------------------------

/** What the dispatcher does next. */
export type Next<E> =
  /** Nothing to do until a command arrives. */
  | { readonly _tag: "Wait" }
  /** Memory pressure closed admission: watch for it to reopen (once), then wait. */
  | { readonly _tag: "WatchAdmission" }
  /** Read the store's best page (leaving out these types) and `refilled` it. */
  | { readonly _tag: "Refill"; readonly excluded: ReadonlyArray<string> }
  /** The best task's type is blocked: it was set aside; decide again. */
  | { readonly _tag: "Parked" }
  /**
   * Reserve room on `executor` for the best task (an idle worker; with `short`, a place behind
   * a short batch is fine too), then `admit` it. No room: `watchRoom`, then wait.
   */
  | { readonly _tag: "Reserve"; readonly executor: E; readonly top: ReadyRef; readonly short: boolean }

const laneOf = <E>(books: Books<E>, executor: E): Lane => {
  let lane = books.lanes.get(executor)
  if (lane === undefined) books.lanes.set(executor, lane = { tasks: 0, runs: 0 })
  return lane
}

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
      books.lastExcluded = new Set(excluded)
      return { _tag: "Refill", excluded }
    }
  }
  const top = mailbox.peek()
  if (top === undefined) return wait
  // A type that is paused or at its limit does not hold up the others: set its task aside.
  if (isBlocked(books, rules, top.type)) {
    mailbox.take()
    park(books, top)
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
// Resources: a task that declares them runs alone under a permit; the best waiting task holds a
// reservation so smaller tasks do not starve it (see ResourceGovernor)
// ---------------------------------------------------------------------------------------------

/** What must stay free while `top` asks for a permit: the reservation of a better waiting task. */
export const heldBack = <E>(books: Books<E>, top: ReadyRef) => {
  const reserved = books.reserved
  return reserved !== undefined && reserved.id !== top.id ? reserved.resources : null
}

/** The permit was refused: the task waits aside; the best such task holds the reservation. */
export const waitForResources = <E>(books: Books<E>, top: ReadyRef) => {
  books.mailbox.take()
  books.waitingForResources.push(top)
  if (books.reserved === undefined) books.reserved = top
}

/** The permit was granted: a reservation it held is fulfilled. */
export const permitted = <E>(books: Books<E>, top: ReadyRef) => {
  if (books.reserved?.id === top.id) books.reserved = undefined
}

/** Resources were released: the tasks that waited for them try again, best first. */
export const resourcesReleased = <E>(books: Books<E>) => {
  const waiting = books.waitingForResources.splice(0)
  books.reserved = undefined
  for (const ref of waiting) offer(books, ref)
  if (waiting.length > 0) books.mailbox.markStale()
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
    if (books.pausedTypes.has(ref.type)) break
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
    perType.set(ref.type, inBatch + 1)
    books.claiming.add(ref.id)
    if (alone) {
      books.isolate.delete(ref.id)
      isolated = true
      break
    }
  }
  return {
    ids,
    token: `${owner}:${++books.tokenCounter}`,
    plannedMs: planned,
    short: planned <= rules.targetBatchMs && !permit && !isolated
  }
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
