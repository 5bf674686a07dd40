import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { ReadyRef } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { Executor } from "../pool/Executor.js"
import type { StatusChanged } from "../events/TaskEvents.js"
import type { StoreError } from "../../domain/TaskErrors.js"
import type { Change, Pauses } from "../store/TaskStore.js"
import { Command } from "./Command.js"
import type { Env, State } from "./State.js"

// What steers dispatch besides rank: pause gates, per-type limits (tasks of a blocked type are
// parked aside so others pass them), actor keys, and changes made outside the dispatcher.
// Everything here that changes the state runs in the dispatcher's fiber (Dispatcher.apply);
// other fibers `send` commands, and `interrupt` only reads.

/** Sends a command to the dispatcher. */
export const send = (state: State, command: Command) => Queue.offer(state.commands, command)

/** Sends a command and waits until the dispatcher applied it. */
export const sendAndWait = (state: State, make: (done: Deferred.Deferred<void, StoreError>) => Command) =>
  Effect.flatMap(Deferred.make<void, StoreError>(), (done) => Effect.zipRight(send(state, make(done)), Deferred.await(done)))

/** Wakes the dispatcher; `storeChanged`: the store may hold ready work its mailbox does not. */
export const wake = (state: State, storeChanged: boolean) => send(state, Command.Wake({ storeChanged }))

export const changed = (
  task: { readonly id: TaskId; readonly type: string },
  status: StatusChanged["status"],
  at: number
): StatusChanged => ({ _tag: "StatusChanged", id: task.id, type: task.type, status, at })

/** Whether tasks of `type` may not start now: the type is paused or at its concurrency limit. */
export const isBlocked = (env: Env, type: string): boolean => {
  if (env.state.pausedTypes.has(type)) return true
  const limit = env.options.typeLimit(type)
  return limit !== undefined && (env.state.typeRunning.get(type) ?? 0) >= limit
}

/** Types whose tasks the store should leave out of a ready page. */
export const blockedTypes = (env: Env): Array<string> => {
  const out = new Set(env.state.pausedTypes)
  for (const type of env.state.typeRunning.keys()) if (isBlocked(env, type)) out.add(type)
  return [...out]
}

/**
 * Sets a ready task aside until its type may run again. Bounded: past the mailbox's capacity
 * the task just stays in the store (the refill that follows the unblocking brings it).
 */
export const park = (state: State, ref: ReadyRef) => {
  let list = state.parked.get(ref.type)
  if (list === undefined) state.parked.set(ref.type, list = [])
  if (list.length < state.mailbox.capacity) list.push(ref)
}

/** Puts back the parked tasks of types that may run again; the store may hold more of them. */
export const unpark = (env: Env) => {
  let any = false
  // A type the last refill left out may have tasks in the store only: look again.
  for (const type of env.state.lastExcluded) {
    if (!isBlocked(env, type)) any = true
  }
  for (const [type, refs] of env.state.parked) {
    if (isBlocked(env, type)) continue
    env.state.parked.delete(type)
    for (const ref of refs) offer(env.state, ref)
    any = true
  }
  if (any) env.state.mailbox.markStale()
  return any
}

/**
 * Offers a ready task to the mailbox unless this process is still claiming or running it (an
 * attempt that ended but has not left the books yet): then the next refill finds it instead.
 */
export const offer = (state: State, ref: ReadyRef) => {
  if (state.claiming.has(ref.id) || state.inFlight.has(ref.id)) {
    state.mailbox.markStale()
    return
  }
  state.mailbox.offer(ref)
}

export const countRunning = (state: State, types: ReadonlyArray<string>, delta: number) => {
  for (const type of types) {
    const n = (state.typeRunning.get(type) ?? 0) + delta
    if (n <= 0) state.typeRunning.delete(type)
    else state.typeRunning.set(type, n)
  }
}

/**
 * Publishes durable changes and schedules what they made ready: unkeyed pending tasks go to
 * the mailbox; for actor keys whose task ended or became ready, the store names each key's
 * oldest unfinished task, which goes to the mailbox if it is pending; delayed ones re-arm the
 * timer.
 */
export const applyChanges = (env: Env, changes: ReadonlyArray<Change>, now: number, endedKeys: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    // A task cancelled while it runs here ends `cancelled` for subscribers only once its attempt
    // has stopped, so its last log lines come before its final status (see Dispatch.runBatch).
    const published = changes.filter((c) => {
      if (c.status !== "cancelled" || !env.state.inFlight.has(c.id)) return true
      env.state.cancelling.add(c.id)
      return false
    })
    if (published.length > 0) yield* env.events.publish(published.map((c) => changed(c, c.status, now)))
    const keys = new Set(endedKeys)
    let delayed = false
    for (const c of changes) {
      if (c.key !== null) keys.add(c.key)
      else if (c.status === "pending") offer(env.state, c)
      if (c.status === "delayed" || c.status === "retrying") delayed = true
    }
    // A key whose task still runs here (e.g. cancelled, not yet stopped) waits for its end.
    for (const key of keys) if (env.state.keyRunning.has(key)) keys.delete(key)
    if (keys.size > 0) {
      for (const head of yield* env.store.keyHeads([...keys])) offer(env.state, head)
    }
    if (delayed) yield* Queue.offer(env.state.timerWake, undefined)
  })

/** Tasks that became ready in this process: unkeyed ones go to the mailbox, and each actor key's head. */
export const ready = (env: Env, refs: ReadonlyArray<ReadyRef>) =>
  Effect.gen(function*() {
    // A task with an actor key may run only when it is its key's oldest unfinished task: the
    // store says which those are.
    const keys = new Set<string>()
    for (const ref of refs) {
      if (ref.key === null) offer(env.state, ref)
      else keys.add(ref.key)
    }
    if (keys.size > 0) {
      for (const head of yield* env.store.keyHeads([...keys])) offer(env.state, head)
    }
  })

/** Interrupts this process's running attempts of these tasks (cancelled, or lease lost). */
export const interrupt = (env: Env, ids: ReadonlyArray<TaskId>) =>
  Effect.suspend(() => {
    const byExecutor = new Map<Executor, Array<TaskId>>()
    for (const id of ids) {
      const executor = env.state.executorOf.get(id)
      if (executor === undefined) continue
      let list = byExecutor.get(executor)
      if (list === undefined) byExecutor.set(executor, list = [])
      list.push(id)
    }
    return Effect.forEach(byExecutor, ([executor, list]) => executor.interrupt(list), { discard: true })
  })

/** Reads the pause gates from the store (another process may have changed them) and applies them. */
export const refreshPauses = (env: Env) =>
  Effect.flatMap(env.store.pauses, (pauses) => sendAndWait(env.state, (done) => Command.Paused({ pauses, done })))

/** Applies the pause gates (dispatcher only); what was resumed may run again. */
export const applyPauses = (env: Env, pauses: Pauses) => {
  const wasPaused = env.state.queuePaused
  env.state.queuePaused = pauses.queue
  const before = env.state.pausedTypes
  env.state.pausedTypes = new Set(pauses.types)
  const resumed = [...before].some((t) => !env.state.pausedTypes.has(t)) || (wasPaused && !pauses.queue)
  if (resumed) {
    unpark(env)
    env.state.mailbox.markStale()
  }
}
