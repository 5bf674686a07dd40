import type { RuntimeFiber } from "effect/Fiber"
import * as Scheduler from "effect/Scheduler"

/** The longest the runtime's fibers run on microtasks before the event loop gets a turn (ms). */
export const turnMs = 10

/**
 * The scheduler of the runtime's own fibers (dispatcher, group commit, timers).
 *
 * Effect's default scheduler yields to the event loop with `setTimeout(0)` after 2,048
 * microtask drains; Node clamps that to ≥ 1 ms, which leaves the runtime idle between bursts
 * of synchronous SQLite work. This one yields with `setImmediate`, which runs as soon as
 * pending I/O has been polled. Measured on the submit path: about 20% faster (bench/).
 *
 * It also yields by time, counted across every fiber. Effect counts drains per fiber, and a
 * fiber that suspends and is resumed starts again at 0: fibers that wake each other (the wake
 * timer, the writer, the dispatcher while tasks come due one after another) ran on microtasks
 * alone for as long as the work lasted, and no I/O was polled — the HTTP API and the dashboard
 * did not answer for the 4–10 s it took (docs/design.md). One runner for all of them, and a
 * turn of the event loop at least every `turnMs`.
 */
export class ImmediateScheduler implements Scheduler.Scheduler {
  private lastTurn = performance.now()
  private readonly runner = new Scheduler.SchedulerRunner((depth, drain) => {
    if (depth >= 2048 || performance.now() - this.lastTurn >= turnMs) {
      setImmediate(() => {
        this.lastTurn = performance.now()
        drain(0)
      })
    } else {
      void Promise.resolve(undefined).then(() => drain(depth + 1))
    }
  })

  shouldYield(fiber: RuntimeFiber<unknown, unknown>): number | false {
    return Scheduler.defaultShouldYield(fiber)
  }

  scheduleTask(task: Scheduler.Task, priority: number): void {
    this.runner.scheduleTask(task, priority)
  }
}
