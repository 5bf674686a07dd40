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

/** Runs `f` at most once per `ms`, the last call winning (rows update, the server is not flooded). */
export const throttle = (ms: number, f: () => Promise<void>) => {
  let timer: ReturnType<typeof setTimeout> | undefined
  return () => {
    if (timer !== undefined) return
    timer = setTimeout(() => {
      timer = undefined
      void f()
    }, ms)
  }
}

/** Every status, in the order the pages show them (checked against the domain's list: none missing). */
export const statuses = ["pending", "running", "delayed", "retrying", "blocked", "paused", "completed", "failed", "cancelled"] as const satisfies ReadonlyArray<TaskStatus>
const everyStatus: [Exclude<TaskStatus, typeof statuses[number]>] extends [never] ? true : never = true
void everyStatus
