import type { RateLimit } from "../../../domain/RateLimit.js"
import type { Claimed, ReadyRef } from "../../../domain/Task.js"
import type { TaskId } from "../../../domain/TaskId.js"
import type { Mailbox } from "../Mailbox.js"

// The dispatcher's books and the settings and reads its decisions depend on (see Plan.ts).

/** What the books need of a claimed attempt. */
export type Attempt = Pick<Claimed, "id" | "type" | "key" | "token">

/** The settings the decisions depend on. */
export interface Rules {
  /** Most attempts of a type running at once, across every process sharing the store (undefined: no limit). */
  readonly typeLimit: (type: string) => number | undefined
  /** Starts per interval of a type (or of each rate key of it), held by the store (undefined: none). */
  readonly rateLimit?: (type: string) => RateLimit | undefined
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
  /**
   * Ready tasks set aside, by what holds them: their type (paused, at its limit) or their
   * rate-limit bucket per key (`type/key`).
   */
  readonly parked: Map<string, Array<ReadyRef>>
  /** Attempts running in this process, by actor key: a key's next task waits for its end. */
  readonly keyRunning: Map<string, number>
  /** Types and per-key buckets the last refill left out of its page (their tasks may be in the store). */
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
  /**
   * Types with a limit the store found reached by every node's attempts together (a claim came
   * back short): held back until the store may have changed (a wake-up) or one ends here.
   */
  readonly heldElsewhere: Set<string>
  /**
   * Rate-limit buckets (a type, or `type/key`) whose allowance the store found spent, until
   * when: held back until then (a timer tells the dispatcher).
   */
  readonly rateHeld: Map<string, number>
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
  heldElsewhere: new Set(),
  rateHeld: new Map(),
  tokenCounter: 0
})

/** The executor's lane (created on first use). */
export const laneOf = <E>(books: Books<E>, executor: E): Lane => {
  let lane = books.lanes.get(executor)
  if (lane === undefined) books.lanes.set(executor, lane = { tasks: 0, runs: 0 })
  return lane
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

export const countBy = (counts: Map<string, number>, keys: Iterable<string | null>, delta: number) => {
  for (const key of keys) {
    if (key === null) continue
    const n = (counts.get(key) ?? 0) + delta
    if (n <= 0) counts.delete(key)
    else counts.set(key, n)
  }
}

