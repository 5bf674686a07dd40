import * as Data from "effect/Data"
import type { ClientError, RemoteError } from "../client/Http.js"

/**
 * The CLI's exit codes (documented in the README). Scripts can tell "the server is down" from
 * "no such task" from "the task failed".
 */
export const ExitCode = {
  /** Done; for `submit --wait` the task completed; for `health` it is healthy. */
  ok: 0,
  /** Something unexpected (a bug, an answer the CLI did not understand). */
  error: 1,
  /** Bad arguments or params (the CLI's own validation, or the server's -32600/-32602). */
  usage: 2,
  /** The server cannot be reached, or refused the token. */
  unreachable: 3,
  /** No such task. */
  notFound: 4,
  /** The server refused the request: invalid payload, unknown type, wrong status, queue full… */
  refused: 5,
  /** `start`: the runtime could not start (bad configuration, port taken, no token for a public address…). */
  cannotStart: 6,
  /** `submit --wait`: the task failed. */
  taskFailed: 10,
  /** `submit --wait`: the task was cancelled. */
  taskCancelled: 11,
  /** `health`: warning. */
  healthWarning: 20,
  /** `health`: critical. */
  healthCritical: 21,
  /** `health`: offline (no worker, or the store does not answer). */
  healthOffline: 22
} as const
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/** Ends the CLI with this code; the message (if any) goes to stderr. */
export class CliExit extends Data.TaggedError("CliExit")<{
  readonly code: number
  readonly message: string
}> {}

/** Maps a client failure to its documented code. */
export const fromClientError = (e: ClientError | RemoteError): CliExit => {
  if (e._tag === "ClientError") {
    return new CliExit({ code: e.reason === "Protocol" ? ExitCode.error : ExitCode.unreachable, message: e.message })
  }
  const code = e.tag === "TaskNotFound"
    ? ExitCode.notFound
    : e.code === -32600 || e.code === -32602 || e.code === -32601
    ? ExitCode.usage
    : e.code === -32603 || e.tag === "StoreError"
    ? ExitCode.error
    : ExitCode.refused
  return new CliExit({ code, message: e.tag === undefined ? e.message : `${e.tag}: ${e.message}` })
}
