import type * as Worker from "@effect/platform/Worker"
import * as Data from "effect/Data"
import type * as Scope from "effect/Scope"
import type * as WorkerThreads from "node:worker_threads"
import type { WorkerStats } from "../../domain/WorkerStats.js"
import type * as Protocol from "../../workers/Protocol.js"
import * as ThreadState from "../../workers/ThreadState.js"
import type * as Activity from "./activity.js"
import type * as Watchdog from "./watchdog.js"

/** A started worker thread, with everything the pool holds of it. */
export interface Thread {
  readonly worker: Worker.SerializedWorker<Protocol.Request>
  /** Closing it stops the thread (and its activity forwarding). */
  readonly scope: Scope.CloseableScope
  readonly handle: WorkerThreads.Worker
  /** The thread's shared state (what it runs, heartbeat, heap). */
  readonly state: ThreadState.View
  readonly delivery: Activity.Delivery | undefined
}

/** Why a thread takes no new requests: killed by the watchdog, due for renewal, above the target. */
export type DrainReason = "killed" | "recycling" | "retiring"

/**
 * Where a slot's thread is in its life. A slot starts `Starting`; a thread that starts makes it
 * `Live`; a live thread that must go (killed, recycled, retired) is `Draining` until its
 * requests end, then it is stopped: a retired slot is `Empty`, the others start a new thread
 * (`Starting`). A thread that dies stops at once (`Starting` again, or `Empty` above the target).
 */
export type Phase = Data.TaggedEnum<{
  /** No thread and none coming: the slot is above the pool's target. */
  Empty: {}
  /** A thread is being started; `error`: why the last try failed (it is retried). */
  Starting: { readonly error: string | undefined }
  /** Its thread serves requests. */
  Live: { readonly thread: Thread }
  /** Its thread takes no new requests and is stopped once the ones it has end. */
  Draining: { readonly thread: Thread; readonly reason: DrainReason }
}>

export const Phase = Data.taggedEnum<Phase>()

/** One place in the pool for a thread; the thread in it is replaced, the slot stays. */
export interface Slot {
  readonly index: number
  phase: Phase
  /** Bumped each time a thread leaves the slot: requests and kills name the one they meant. */
  generation: number
  /** Requests sent (or reserved) and not ended. */
  requests: number
  /** Nothing may wait behind what the thread runs (a long request, or one that overran). */
  long: boolean
  /** Attempts run by the current thread. */
  tasksThisThread: number
  recycled: number
  startedAt: number
  tasksDone: number
  failures: number
  /** Requests in flight, by batch number (any generation). */
  readonly inflight: Map<number, Watchdog.Inflight>
}

/** A slot whose first thread is about to start. */
export const make = (index: number, now: number): Slot => ({
  index,
  phase: Phase.Starting({ error: undefined }),
  generation: 0,
  requests: 0,
  long: false,
  tasksThisThread: 0,
  recycled: 0,
  startedAt: now,
  tasksDone: 0,
  failures: 0,
  inflight: new Map()
})

// ---- reads ----------------------------------------------------------------------------------

/** The slot's thread, live or draining. */
export const threadOf = (slot: Slot): Thread | undefined =>
  slot.phase._tag === "Live" || slot.phase._tag === "Draining" ? slot.phase.thread : undefined

/** Whether new requests may go to the slot's thread. */
export const serving = (slot: Slot): boolean => slot.phase._tag === "Live"

/** Whether the slot counts toward the pool's size: it has a thread that is not being retired. */
export const counts = (slot: Slot): boolean =>
  slot.phase._tag === "Live" || (slot.phase._tag === "Draining" && slot.phase.reason !== "retiring")

/** Whether its thread was killed by the watchdog (it is replaced once its requests end). */
export const killed = (slot: Slot): boolean => slot.phase._tag === "Draining" && slot.phase.reason === "killed"

/** Requests in flight on the slot's thread of this generation. */
export const inflightOf = (slot: Slot, generation: number): number => {
  let n = 0
  for (const entry of slot.inflight.values()) if (entry.generation === generation) n++
  return n
}

// ---- transitions ----------------------------------------------------------------------------

/** A thread started in the slot: it serves, unless the slot went above the target meanwhile. */
export const started = (slot: Slot, thread: Thread, aboveTarget: boolean, now: number): void => {
  slot.phase = aboveTarget ? Phase.Draining({ thread, reason: "retiring" }) : Phase.Live({ thread })
  slot.startedAt = now
  slot.tasksThisThread = 0
}

/** A start failed: the slot says why (stats, health) until a start succeeds. */
export const startFailed = (slot: Slot, error: string): void => {
  slot.phase = Phase.Starting({ error })
}

/**
 * The thread takes no new requests. A kill overrides the other reasons (the thread is gone
 * whatever happens); a live thread above the target that comes back under it serves again
 * (`serve`). False when nothing changed.
 */
export const drain = (slot: Slot, reason: DrainReason): boolean => {
  const phase = slot.phase
  if (phase._tag === "Live" || (phase._tag === "Draining" && reason === "killed" && phase.reason !== "killed")) {
    slot.phase = Phase.Draining({ thread: phase.thread, reason })
    return true
  }
  return false
}

/** An empty slot is wanted again (the target rose): a thread will start in it. */
export const wanted = (slot: Slot): boolean => {
  if (slot.phase._tag !== "Empty") return false
  slot.phase = Phase.Starting({ error: undefined })
  return true
}

/** A thread being retired is wanted again (the target rose): it serves again. */
export const serve = (slot: Slot): boolean => {
  const phase = slot.phase
  if (phase._tag !== "Draining" || phase.reason !== "retiring") return false
  slot.phase = Phase.Live({ thread: phase.thread })
  return true
}

/**
 * The thread leaves the slot (stopped, or dead): the slot is `Empty` (above the target) or
 * `Starting` its next thread. Returns the thread, whose scope the caller closes.
 */
export const stop = (slot: Slot, next: "Empty" | "Starting"): Thread | undefined => {
  const thread = threadOf(slot)
  slot.generation++
  slot.phase = next === "Empty" ? Phase.Empty() : Phase.Starting({ error: undefined })
  return thread
}

// ---- stats ----------------------------------------------------------------------------------

/**
 * Whether the slot's idle thread missed its heartbeats (it writes one every 500 ms). A thread
 * that runs a request is never stale: a handler computing cannot run the heartbeat timer, and
 * that is work, not a fault (timeouts and cancels are the watchdog's).
 */
export const isStale = (slot: Slot, now: number, staleAfterMs: number): boolean => {
  const thread = threadOf(slot)
  if (thread === undefined || slot.requests > 0) return false
  const seen = ThreadState.lastSeen(thread.state)
  return seen !== null && now - seen > staleAfterMs
}

/** The slot as stats: the running task comes from the thread's shared state. */
export const stats = (slot: Slot, now: number, staleAfterMs: number): WorkerStats => {
  const thread = threadOf(slot)
  const snapshot = thread === undefined ? undefined : ThreadState.read(thread.state)
  const current = snapshot !== undefined && snapshot.index >= 0
    ? slot.inflight.get(snapshot.batch)?.tasks[snapshot.index]?.id ?? null
    : null
  const heap = thread === undefined ? null : ThreadState.heapUsed(thread.state)
  const startError = slot.phase._tag === "Starting" ? slot.phase.error : undefined
  return {
    slot: slot.index,
    generation: slot.generation,
    state: thread === undefined
      ? (startError === undefined ? "starting" : "failed")
      : inflightOf(slot, slot.generation) > 0
      ? "busy"
      : isStale(slot, now, staleAfterMs)
      ? "stale"
      : "idle",
    startError: startError ?? null,
    recycled: slot.recycled,
    startedAt: slot.startedAt,
    tasksDone: slot.tasksDone,
    failures: slot.failures,
    currentTask: current,
    heapUsedMb: heap === null ? null : Math.round(heap / 1024 / 102.4) / 10,
    lastSeenAt: thread === undefined ? null : ThreadState.lastSeen(thread.state)
  }
}
