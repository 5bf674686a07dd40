import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { ReadyRef } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { Executor } from "../pool/Executor.js"
import type { StatusChanged } from "../events/TaskEvents.js"
import type { StoreError } from "../../domain/TaskErrors.js"
import type { Change } from "../store/TaskStore.js"
import { Command } from "./Command.js"
import * as Plan from "./Plan.js"
import type { Env, State } from "./State.js"

// How the rest of the scheduler talks to the dispatcher (commands), and the effects around the
// decisions Plan makes on changes made outside it (publishing, reading actor keys' heads).
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

/**
 * Publishes durable changes and schedules what they made ready (Plan.changes): for actor keys
 * whose task ended or became ready, the store names each key's oldest unfinished task, which
 * goes to the mailbox if it is pending; delayed ones re-arm the timer.
 */
export const applyChanges = (env: Env, changes: ReadonlyArray<Change>, now: number, endedKeys: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const scheduled = Plan.changes(env.state, changes, endedKeys)
    if (scheduled.publish.length > 0) yield* env.events.publish(scheduled.publish.map((c) => changed(c, c.status, now)))
    yield* offerKeyHeads(env, scheduled.keys)
    if (scheduled.delayed) yield* Queue.offer(env.state.timerWake, undefined)
  })

/** Tasks that became ready in this process: unkeyed ones go to the mailbox, and each actor key's head. */
export const ready = (env: Env, refs: ReadonlyArray<ReadyRef>) => offerKeyHeads(env, Plan.ready(env.state, refs))

/** A task with an actor key may run only when it is its key's oldest unfinished task: the store says which. */
const offerKeyHeads = (env: Env, keys: ReadonlyArray<string>) =>
  keys.length === 0 ? Effect.void : Effect.flatMap(env.store.keyHeads(keys), (heads) =>
    Effect.sync(() => {
      for (const head of heads) Plan.offer(env.state, head)
    }))

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
