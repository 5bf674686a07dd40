/**
 * A worker thread's state in shared memory, written by the thread and read by the pool's
 * watchdog. It is the one channel that still works when a handler blocks its thread (a
 * synchronous loop never yields, so no message would ever leave it).
 *
 * Layout (one SharedArrayBuffer per thread, passed in workerData):
 *   Int32   [version, batch, index, next]   version is a seqlock: odd while the thread writes;
 *           next: the request queued behind the running one (its number), or minus that
 *           number once the pool withdrew it — whoever moves it first wins (compare-exchange)
 *   Float64 [startedAt, timeoutMs, heapUsed, lastSeen]   (epoch ms; -1 for none)
 *
 * Times here are wall-clock epoch ms on both sides (a documented bridge: threads are never
 * under TestClock, and the pool compares them with its own wall clock).
 */

const VERSION = 0
const BATCH = 1
const INDEX = 2
const NEXT = 3
const STARTED = 0
const TIMEOUT = 1
const HEAP = 2
const SEEN = 3
const F64_OFFSET = 16
const BYTES = F64_OFFSET + 4 * 8

export interface View {
  readonly i32: Int32Array
  readonly f64: Float64Array
}

/** What the thread runs now, as last written. */
export interface Snapshot {
  /** The pool's number of the request being run. */
  readonly batch: number
  /** Index of the running task in that request; -1 when the thread is between tasks. */
  readonly index: number
  readonly startedAt: number
  readonly timeoutMs: number | null
}

/** A fresh buffer for one thread: idle, never seen. */
export const make = (): SharedArrayBuffer => {
  const buffer = new SharedArrayBuffer(BYTES)
  const v = view(buffer)
  v.i32[INDEX] = -1
  v.f64.fill(-1)
  return buffer
}

export const view = (buffer: SharedArrayBuffer): View => ({
  i32: new Int32Array(buffer, 0, 4),
  f64: new Float64Array(buffer, F64_OFFSET, 4)
})

const write = (v: View, batch: number, index: number, startedAt: number, timeoutMs: number): void => {
  Atomics.add(v.i32, VERSION, 1)
  v.f64[STARTED] = startedAt
  v.f64[TIMEOUT] = timeoutMs
  Atomics.store(v.i32, BATCH, batch)
  Atomics.store(v.i32, INDEX, index)
  Atomics.add(v.i32, VERSION, 1)
}

/** The thread starts task `index` of request `batch` (called synchronously, before the handler). */
export const writeTask = (v: View, batch: number, index: number, startedAt: number, timeoutMs: number | null): void => {
  write(v, batch, index, startedAt, timeoutMs ?? -1)
  v.f64[SEEN] = startedAt
}

/** The thread finished a request and runs nothing. */
export const writeIdle = (v: View): void => write(v, 0, -1, -1, -1)

/** The thread's periodic report: heap used (bytes) and when it was last able to run. */
export const writeHealth = (v: View, heapUsed: number, now: number): void => {
  v.f64[HEAP] = heapUsed
  v.f64[SEEN] = now
}

/** A consistent read of the running task; undefined if the thread kept writing meanwhile. */
export const read = (v: View): Snapshot | undefined => {
  for (let attempt = 0; attempt < 4; attempt++) {
    const before = Atomics.load(v.i32, VERSION)
    if (before % 2 === 1) continue
    const batch = Atomics.load(v.i32, BATCH)
    const index = Atomics.load(v.i32, INDEX)
    const startedAt = v.f64[STARTED]!
    const timeoutMs = v.f64[TIMEOUT]!
    if (Atomics.load(v.i32, VERSION) === before) {
      return { batch, index, startedAt, timeoutMs: timeoutMs < 0 ? null : timeoutMs }
    }
  }
  return undefined
}

/** Heap used at the last report (bytes), or null before the first. */
export const heapUsed = (v: View): number | null => {
  const heap = v.f64[HEAP]!
  return heap < 0 ? null : heap
}

/** When the thread last reported or started a task (epoch ms), or null before that. */
export const lastSeen = (v: View): number | null => {
  const seen = v.f64[SEEN]!
  return seen < 0 ? null : seen
}

/** The pool: request `batch` is sent to wait behind the one the thread runs. */
export const queueNext = (v: View, batch: number): void => {
  Atomics.store(v.i32, NEXT, batch)
}

/**
 * The pool: takes back the queued request `batch` if the thread has not started it; true when
 * it did (the thread will then skip it).
 */
export const withdraw = (v: View, batch: number): boolean => Atomics.compareExchange(v.i32, NEXT, batch, -batch) === batch

/**
 * The thread, as it starts request `batch`: false when the pool withdrew it (its tasks must
 * not start); true otherwise (it was not queued, or is now taken).
 */
export const take = (v: View, batch: number): boolean => {
  const previous = Atomics.compareExchange(v.i32, NEXT, batch, 0)
  if (previous !== -batch) return true
  // Cleared only if still ours: the pool may have queued the next request meanwhile.
  Atomics.compareExchange(v.i32, NEXT, -batch, 0)
  return false
}
