import * as Scheduler from "effect/Scheduler"
import type { RuntimeFiber } from "effect/Fiber"

/**
 * Effect's default scheduler yields to the event loop with `setTimeout(0)` after 2,048
 * microtask drains; Node clamps that to ≥ 1 ms, which leaves the runtime idle between bursts
 * of synchronous SQLite work. This one yields with `setImmediate`, which runs as soon as
 * pending I/O has been polled (a documented bridge to Node's event loop). Measured on the
 * submit path: about 20% faster (bench/).
 */
export class ImmediateScheduler implements Scheduler.Scheduler {
  private readonly getRunner = Scheduler.SchedulerRunner.cached((depth, drain) => {
    if (depth >= 2048) {
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
