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
 * did not answer for the 4–10 s it took (docs/design.md). Here a run of microtasks that has
 * gone on for `turnMs` since the event loop last turned yields with `setImmediate`. Whether the
 * loop turned is told by a marker (a `setImmediate` of its own, pending while work runs): work
 * that starts from an I/O callback after a turn (a child process's spawn, say) goes on in
 * microtasks, as with Effect's scheduler, so what it starts is not put behind that I/O.
 * Each fiber keeps its own runner (Effect's, which keeps AsyncLocalStorage apart per fiber).
 */
export class ImmediateScheduler implements Scheduler.Scheduler {
  /** When the current run of microtasks began (the first drain after the loop turned). */
  private busySince = performance.now()
  /** The loop turned since the marker was set: the next drain starts a new run. */
  private turned = true
  private markerSet = false
  private readonly marker = () => {
    this.markerSet = false
    this.turned = true
  }

  private readonly getRunner = Scheduler.SchedulerRunner.cached((depth, drain) => {
    const now = performance.now()
    if (this.turned) {
      this.turned = false
      this.busySince = now
    }
    if (!this.markerSet) {
      this.markerSet = true
      setImmediate(this.marker)
    }
    if (depth >= 2048 || now - this.busySince >= turnMs) {
      setImmediate(() => drain(0))
    } else {
      void Promise.resolve(undefined).then(() => drain(depth + 1))
    }
  })

  shouldYield(fiber: RuntimeFiber<unknown, unknown>): number | false {
    return Scheduler.defaultShouldYield(fiber)
  }

  scheduleTask(task: Scheduler.Task, priority: number, fiber?: RuntimeFiber<unknown, unknown>): void {
    this.getRunner(fiber).scheduleTask(task, priority)
  }
}
