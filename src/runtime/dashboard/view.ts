import type { TaskStatus } from "../../domain/TaskStatus.js"
import type { Frame } from "./api.js"

/** One page of the dashboard: its element, what it does with a live event, how it reloads. */
export interface View {
  readonly root: HTMLElement
  /** Reads what it shows again (after a `gap`, a reconnect, or on its own events). */
  readonly refresh: () => Promise<void>
  /** A frame of GET /events (every task's events). */
  readonly onEvent?: (frame: Frame) => void
  /** Stops what it started (its own streams). */
  readonly dispose?: () => void
}

/**
 * Runs `f` at most once per `ms`, one run at a time (a slow answer is never drawn over a newer
 * one): a call while it runs asks for one more run after it. Failures go to the console.
 */
export const throttle = (ms: number, f: () => Promise<void>) => {
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let again = false
  const fire = () => {
    timer = undefined
    if (running) {
      again = true
      return
    }
    running = true
    f().catch((e: unknown) => console.error(e)).finally(() => {
      running = false
      if (again) {
        again = false
        schedule()
      }
    })
  }
  const schedule = () => {
    if (timer === undefined) timer = setTimeout(fire, ms)
  }
  return schedule
}

/** Every status, in the order the pages show them (checked against the domain's list: none missing). */
export const statuses = ["pending", "running", "delayed", "retrying", "blocked", "paused", "completed", "failed", "cancelled"] as const satisfies ReadonlyArray<TaskStatus>
const everyStatus: [Exclude<TaskStatus, typeof statuses[number]>] extends [never] ? true : never = true
void everyStatus
