import type { WorkerError } from "@effect/platform/WorkerError"
import { WorkerCrashed, WorkerOutOfMemory } from "../../domain/TaskErrors.js"

const causeMessage = (error: WorkerError): string => {
  const cause = error.cause
  if (cause instanceof Error) return cause.message
  if (typeof cause === "object" && cause !== null && typeof (cause as { message?: unknown }).message === "string") {
    return (cause as { message: string }).message
  }
  return String(cause)
}

/** Classifies how a worker thread died, from the WorkerError the platform reported. */
export const classify = (workerId: number, error: WorkerError): WorkerCrashed | WorkerOutOfMemory => {
  const detail = causeMessage(error)
  const reason = /memory limit|out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(detail)
    ? "oom"
    : /exited with code/i.test(detail)
    ? "exit"
    : error.reason === "spawn"
    ? "spawn"
    : "error"
  if (reason === "oom") {
    return new WorkerOutOfMemory({ workerId, message: `worker thread ${workerId} passed its heap limit and was replaced: ${detail}` })
  }
  const what = reason === "exit" ? "exited" : "crashed"
  return new WorkerCrashed({ workerId, reason, message: `worker thread ${workerId} ${what}: ${detail}` })
}

/** The one message for a thread that failed before it served: which modules, and its own error. */
export const startFailure = (index: number, modules: ReadonlyArray<string>, error: unknown): string => {
  const detail = error instanceof Error ? error.message : String(error)
  return `worker thread ${index} failed to start: ${detail}` +
    (detail.includes(modules[0] ?? "\u0000") ? "" : ` (handlers module${modules.length === 1 ? "" : "s"} ${modules.join(", ")})`)
}
