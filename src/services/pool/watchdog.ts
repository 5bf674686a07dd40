import type * as Deferred from "effect/Deferred"
import * as Outcome from "../../domain/Outcome.js"
import type { Claimed } from "../../domain/Task.js"
import * as BatchRun from "../../workers/BatchRun.js"
import type * as ThreadState from "../../workers/ThreadState.js"

// The pure part of the pool's watchdog: which task (if any) must lose its thread, and how the
// requests on a killed thread resolve. A killed thread is not a crash: the culprit gets its own
// outcome, every other attempt on the thread is given back (Abandoned, uncounted).

/** How a request on a killed thread resolves. */
export type Killed =
  | { readonly _tag: "Culprit"; readonly index: number; readonly outcome: Outcome.Outcome }
  | { readonly _tag: "Bystander" }

/** A request in flight on a thread. */
export interface Inflight {
  /** The pool's number for the request (the thread writes it to its shared state). */
  readonly batch: number
  /** The thread generation it was sent to. */
  readonly generation: number
  readonly tasks: ReadonlyArray<Claimed>
  /** When each cancelled task of the request was cancelled, wall-clock ms. */
  cancelledAt: Map<string, number> | undefined
  /** Set when the watchdog killed the thread. */
  killed: Killed | undefined
  /** For a request sent to wait behind another: resolved when the pool takes it back. */
  readonly withdrawn: Deferred.Deferred<void> | undefined
}

export interface Verdict {
  readonly entry: Inflight
  readonly index: number
  readonly outcome: Outcome.Outcome
  /** For the log line. */
  readonly reason: string
}

/**
 * The task a thread runs now, when it is past its timeout by more than the grace period, or
 * was cancelled more than the grace period ago and still runs: it does not yield.
 */
export const judge = (
  snapshot: ThreadState.Snapshot | undefined,
  inflight: ReadonlyMap<number, Inflight>,
  now: number,
  graceMs: number
): Verdict | undefined => {
  if (snapshot === undefined || snapshot.index < 0) return undefined
  const entry = inflight.get(snapshot.batch)
  const task = entry?.tasks[snapshot.index]
  if (entry === undefined || task === undefined || entry.killed !== undefined) return undefined
  const grace = `did not yield within the ${graceMs} ms grace period; its worker thread was terminated`
  if (snapshot.timeoutMs !== null && now - snapshot.startedAt > snapshot.timeoutMs + graceMs) {
    return {
      entry,
      index: snapshot.index,
      outcome: BatchRun.timedOut(task.id, snapshot.timeoutMs, grace),
      reason: `task ${task.id} (${task.type}) ran past its ${snapshot.timeoutMs} ms timeout`
    }
  }
  const cancelledAt = entry.cancelledAt?.get(task.id)
  if (cancelledAt !== undefined && now - cancelledAt > graceMs) {
    return {
      entry,
      index: snapshot.index,
      outcome: BatchRun.interrupted(task.id, `task ${task.id} was cancelled while it ran and ${grace}`),
      reason: `task ${task.id} (${task.type}) was cancelled`
    }
  }
  return undefined
}

/** The outcomes of a request whose thread the watchdog killed. */
export const killedOutcomes = (entry: Inflight, killed: Killed): ReadonlyArray<Outcome.Outcome> =>
  entry.tasks.map((task, i) =>
    killed._tag === "Culprit" && killed.index === i
      ? killed.outcome
      : new Outcome.Abandoned({ id: task.id }, { disableValidation: true })
  )
