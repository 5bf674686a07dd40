import * as ThreadState from "../../workers/ThreadState.js"
import * as Slot from "./slot.js"
import type * as Watchdog from "./watchdog.js"

// Where a batch goes, and which waiting batch must give way: pure reads of the pool's slots
// and the threads' shared state (wall-clock `now`, as the threads write it).

/** Whether the task the slot's thread runs has already run past `queueBehindMs`. */
export const overrunning = (slot: Slot.Slot, now: number, queueBehindMs: number): boolean => {
  const thread = Slot.threadOf(slot)
  const running = thread === undefined ? undefined : ThreadState.read(thread.state)
  return running !== undefined && running.index >= 0 && now - running.startedAt > queueBehindMs
}

/**
 * A slot for a batch now, if any: an idle thread first; for a short batch, else a thread
 * whose only request is short and not overrunning (the batch waits there at most one short
 * batch).
 */
export const pick = (
  slots: ReadonlyArray<Slot.Slot>,
  short: boolean,
  now: number,
  queueBehindMs: number
): Slot.Slot | undefined => {
  let behind: Slot.Slot | undefined
  for (const slot of slots) {
    if (!Slot.serving(slot)) continue
    if (slot.requests === 0) return slot
    if (short && behind === undefined && slot.requests === 1 && !slot.long && !overrunning(slot, now, queueBehindMs)) {
      behind = slot
    }
  }
  return behind
}

/** Requests waiting behind a task that has run past `queueBehindMs`: they must give way. */
export const stuck = (
  slots: ReadonlyArray<Slot.Slot>,
  now: number,
  queueBehindMs: number
): Array<{ readonly slot: Slot.Slot; readonly view: ThreadState.View; readonly entry: Watchdog.Inflight }> => {
  const out: Array<{ readonly slot: Slot.Slot; readonly view: ThreadState.View; readonly entry: Watchdog.Inflight }> = []
  for (const slot of slots) {
    const view = Slot.threadOf(slot)?.state
    if (slot.requests < 2 || view === undefined || !overrunning(slot, now, queueBehindMs)) continue
    const running = ThreadState.read(view)
    for (const entry of slot.inflight.values()) {
      if (entry.withdrawn === undefined || entry.batch === running?.batch || entry.generation !== slot.generation) continue
      out.push({ slot, view, entry })
    }
  }
  return out
}
