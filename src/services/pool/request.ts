import type { WorkerError } from "@effect/platform/WorkerError"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Outcome from "../../domain/Outcome.js"
import type { Claimed } from "../../domain/Task.js"
import { TaskDefect } from "../../domain/TaskErrors.js"
import * as Protocol from "../../workers/Protocol.js"
import * as ThreadState from "../../workers/ThreadState.js"
import * as Activity from "./activity.js"
import * as Crash from "./crash.js"
import type { Ran } from "./Executor.js"
import * as Slot from "./slot.js"
import type { Pool } from "./state.js"
import * as Supervise from "./supervise.js"
import * as Watchdog from "./watchdog.js"

// One batch as one request to a slot's thread: sent (queued behind the running request when
// the placement allowed it, withdrawable), its reply decoded into outcomes, and how the
// thread's death, a watchdog kill or a withdrawal resolves it.

const abandoned = (batch: ReadonlyArray<Claimed>) =>
  batch.map((task) => new Outcome.Abandoned({ id: task.id }, { disableValidation: true }))

const decode = (batch: ReadonlyArray<Claimed>, reply: { readonly outcomes: ReadonlyArray<Protocol.WireOutcome>; readonly busyMs: number }): Ran => ({
  busyMs: reply.busyMs,
  // Replies come back in input order; the typed ids are the batch's own.
  outcomes: batch.map((task, i): Outcome.Outcome => {
    const o = reply.outcomes[i]
    if (o === undefined) {
      return new Outcome.Failed({ id: task.id, error: new TaskDefect({ reason: "decode", message: "worker reply is missing this task" }) }, { disableValidation: true })
    }
    switch (o._tag) {
      case "Succeeded":
        return new Outcome.Succeeded({ id: task.id, result: o.result }, { disableValidation: true })
      case "Failed":
        return new Outcome.Failed({ id: task.id, error: o.error }, { disableValidation: true })
      case "Abandoned":
        return new Outcome.Abandoned({ id: task.id }, { disableValidation: true })
    }
  })
})

/**
 * The thread died under the request. Killed by the watchdog: as the verdict says. Queued behind
 * the request the thread was running: never started, its attempts given back uncounted (the
 * crash belongs to the running one). Otherwise a crash: reported once, the thread replaced.
 */
const died = (pool: Pool, slot: Slot.Slot, entry: Watchdog.Inflight, view: ThreadState.View, error: WorkerError) => {
  const batch = entry.tasks
  const killed = entry.killed
  const running = ThreadState.read(view)
  const waiting = running !== undefined && running.index >= 0 && running.batch !== entry.batch
  if (killed !== undefined) return Effect.succeed<Ran>({ busyMs: 0, outcomes: Watchdog.killedOutcomes(entry, killed) })
  if (waiting) return Effect.succeed<Ran>({ busyMs: 0, outcomes: abandoned(batch) })
  const crashed = Crash.classify(slot.index, error)
  return Effect.logWarning(`${crashed.message}; replacing it`).pipe(
    Effect.zipRight(Supervise.replace(pool, slot, entry.generation)),
    Effect.as<Ran>({ busyMs: 0, outcomes: batch.map((task) => new Outcome.Failed({ id: task.id, error: crashed })) })
  )
}

/** Sends the batch to the slot's thread. The caller ends the slot's request (Supervise.requestEnded) however it ends. */
export const runOn = (pool: Pool, slot: Slot.Slot, batch: ReadonlyArray<Claimed>): Effect.Effect<Ran> =>
  Effect.suspend((): Effect.Effect<Ran> => {
    const thread = Slot.threadOf(slot)
    // The thread died between the reservation and now: the attempts never started.
    if (thread === undefined) return Effect.succeed({ busyMs: 0, outcomes: abandoned(batch) })
    const view = thread.state
    const generation = slot.generation
    // Sent behind the request the thread runs: the pool may take it back (give way).
    const queued = slot.requests > 1
    const entry: Watchdog.Inflight = {
      batch: ++pool.batchSeq,
      generation,
      tasks: batch,
      cancelledAt: undefined,
      killed: undefined,
      withdrawn: queued ? Deferred.unsafeMake<void>(FiberId.none) : undefined
    }
    slot.inflight.set(entry.batch, entry)
    if (queued) ThreadState.queueNext(view, entry.batch)
    // The tasks come from the store and are valid: skip re-validating them here.
    const request = new Protocol.RunBatch({
      batch: entry.batch,
      tasks: batch.map(Protocol.wireTask)
    }, { disableValidation: true })
    const sent = entry.withdrawn === undefined ? thread.worker.executeEffect(request) : Effect.raceFirst(
      thread.worker.executeEffect(request),
      // Withdrawn: the thread will skip it (shared state), so it need not be waited for.
      Effect.as(Deferred.await(entry.withdrawn), { outcomes: batch.map((task) => ({ _tag: "Abandoned" as const, id: task.id })), busyMs: 0, activitySeq: 0 })
    )
    return sent.pipe(
      // The lines flushed before the reply reach the sink before the outcomes return.
      Effect.tap((reply) => Activity.awaitChunk(thread.delivery, reply.activitySeq)),
      Effect.map((reply) => decode(batch, reply)),
      Effect.catchAll((error): Effect.Effect<Ran> =>
        error._tag === "WorkerError"
          ? died(pool, slot, entry, view, error)
          : Effect.succeed({
            busyMs: 0,
            outcomes: batch.map((task) => new Outcome.Failed({ id: task.id, error: new TaskDefect({ reason: "decode", message: `worker reply: ${error.message}` }) }))
          })
      ),
      Effect.tap((ran) => Effect.sync(() => Supervise.tally(pool, slot, ran))),
      Effect.ensuring(Effect.suspend(() => {
        slot.inflight.delete(entry.batch)
        return Supervise.replaceIfDrained(pool, slot, generation)
      }))
    )
  })
