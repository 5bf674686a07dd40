import * as Control from "./Control.js"
import * as Inspect from "./Inspect.js"
import * as Schedules from "./Schedules.js"
import * as Submit from "./Submit.js"

// The client commands: each is one or two calls to the server's API (JSON-RPC, Server-Sent
// Events), printed as a human table or, with --json, as JSON for scripts.

/** Every command that talks to a running server. */
export const all = [
  Submit.submit, Inspect.status, Inspect.list, Control.cancel,
  Control.pauseOrResume("pause", "pause a waiting task, a task type (--type) or the whole queue (--queue)"),
  Control.pauseOrResume("resume", "undo pause"),
  Control.retry, Control.remove, Inspect.logs, Inspect.health, Inspect.stats, Inspect.watch,
  Schedules.schedule, Schedules.unschedule, Schedules.schedulesCommand
] as const
