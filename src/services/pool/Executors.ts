import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Outcome from "../../domain/Outcome.js"
import { HandlerNotFound } from "../../domain/TaskErrors.js"
import type { Executor } from "./Executor.js"

/** Routes each task type to the executor that runs it (worker threads or fibers). */
export class Executors extends Context.Tag("troupe/Executors")<Executors, {
  /** The executor for a task type; unknown types get one that fails with HandlerNotFound. */
  readonly forType: (type: string) => Executor
  /** Every executor in use (for interrupts, stats and health). */
  readonly all: ReadonlyArray<Executor>
  /** Whether any task type runs on worker threads (health: "no live worker" matters then). */
  readonly threads: boolean
  /** Sets the worker-thread pool's target size (memory pressure); nothing for fibers. */
  readonly resize: (target: number) => Effect.Effect<void>
}>() {}

/** Fails every attempt: the process has no handler for the type. */
export const missing = (known: ReadonlyArray<string>): Executor => {
  const run: Executor["run"] = (batch) =>
    Effect.succeed({ busyMs: 0, outcomes: batch.map((task) =>
      new Outcome.Failed({
        id: task.id,
        error: new HandlerNotFound({
          taskType: task.type,
          message: `no handler for task type "${task.type}" in this process (known: ${known.join(", ") || "none"})`
        })
      })
    ) })
  return {
    room: () => ({ capacity: 64, slots: 1 }),
    maxBatch: 64,
    interrupt: () => Effect.void,
    workers: Effect.succeed([]),
    reserve: () => Effect.succeed(Option.some({ run: (batch) => run(batch), cancel: Effect.void })),
    roomChanged: Effect.never,
    run
  }
}
