import type * as Worker from "@effect/platform/Worker"
import type * as Scope from "effect/Scope"
import type * as WorkerThreads from "node:worker_threads"
import type { WorkerStats } from "../../domain/WorkerStats.js"
import type * as Protocol from "../../workers/Protocol.js"
import * as ThreadState from "../../workers/ThreadState.js"
import type * as Activity from "./activity.js"
import type * as Watchdog from "./watchdog.js"

/** One place in the pool for a thread; the thread in it is replaced, the slot stays. */
export interface Slot {
  readonly index: number
  worker: Worker.SerializedWorker<Protocol.Request> | undefined
  scope: Scope.CloseableScope | undefined
  thread: WorkerThreads.Worker | undefined
  state: ThreadState.View | undefined
  delivery: Activity.Delivery | undefined
  generation: number
  requests: number
  /** Nothing may wait behind what the thread runs (a long request, or one that overran). */
  long: boolean
  /** The watchdog terminated this generation's thread: no new requests; replaced once drained. */
  dying: boolean
  /** Above the pool's target size: takes no new requests and stops once drained. */
  retiring: boolean
  /** Due for a fresh thread (N tasks, or the soft heap limit): no new requests; renewed once drained. */
  recycling: boolean
  /** Why the last start of a thread in this slot failed (cleared once one starts). */
  startError: string | undefined
  /** Attempts run by the current thread. */
  tasksThisThread: number
  recycled: number
  startedAt: number
  tasksDone: number
  failures: number
  /** Requests in flight, by batch number (any generation). */
  readonly inflight: Map<number, Watchdog.Inflight>
}

/** An empty slot, before its first thread starts. */
export const make = (index: number, now: number): Slot => ({
  index,
  worker: undefined,
  scope: undefined,
  thread: undefined,
  state: undefined,
  delivery: undefined,
  generation: 0,
  requests: 0,
  long: false,
  dying: false,
  retiring: false,
  recycling: false,
  startError: undefined,
  tasksThisThread: 0,
  recycled: 0,
  startedAt: now,
  tasksDone: 0,
  failures: 0,
  inflight: new Map()
})

/** Requests in flight on the slot's thread of this generation. */
export const inflightOf = (slot: Slot, generation: number): number => {
  let n = 0
  for (const entry of slot.inflight.values()) if (entry.generation === generation) n++
  return n
}

/**
 * Whether the slot's idle thread missed its heartbeats (it writes one every 500 ms). A thread
 * that runs a request is never stale: a handler computing cannot run the heartbeat timer, and
 * that is work, not a fault (timeouts and cancels are the watchdog's).
 */
export const isStale = (slot: Slot, now: number, staleAfterMs: number): boolean => {
  if (slot.worker === undefined || slot.state === undefined || slot.requests > 0) return false
  const seen = ThreadState.lastSeen(slot.state)
  return seen !== null && now - seen > staleAfterMs
}

/** The slot as stats: the running task comes from the thread's shared state. */
export const stats = (slot: Slot, now: number, staleAfterMs: number): WorkerStats => {
  const snapshot = slot.state === undefined ? undefined : ThreadState.read(slot.state)
  const current = snapshot !== undefined && snapshot.index >= 0
    ? slot.inflight.get(snapshot.batch)?.tasks[snapshot.index]?.id ?? null
    : null
  const heap = slot.state === undefined ? null : ThreadState.heapUsed(slot.state)
  return {
    slot: slot.index,
    generation: slot.generation,
    state: slot.worker === undefined
      ? (slot.startError === undefined ? "starting" : "failed")
      : inflightOf(slot, slot.generation) > 0
      ? "busy"
      : isStale(slot, now, staleAfterMs)
      ? "stale"
      : "idle",
    startError: slot.worker === undefined ? slot.startError ?? null : null,
    recycled: slot.recycled,
    startedAt: slot.startedAt,
    tasksDone: slot.tasksDone,
    failures: slot.failures,
    currentTask: current,
    heapUsedMb: heap === null ? null : Math.round(heap / 1024 / 102.4) / 10,
    lastSeenAt: slot.state === undefined ? null : ThreadState.lastSeen(slot.state)
  }
}
