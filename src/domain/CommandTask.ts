import * as Schema from "effect/Schema"
import * as TaskDefinition from "./TaskDefinition.js"

/**
 * The built-in `command` task type: runs an external program. Registered only when the
 * runtime is started with `allowCommands` (`troupe start --allow-commands`), since it runs
 * whatever argv a client sends with the server's rights.
 */

export const name = "command"

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** No shell: argv[0] is looked up on PATH and the rest are passed as they are. */
export const CommandPayload = Schema.Struct({
  argv: Schema.NonEmptyArray(Schema.String.pipe(Schema.minLength(1, { message: () => "argv entries must not be empty" }))),
  /** Working directory; it must exist (default: the server's). */
  cwd: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** Added to the server's environment. */
  env: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }).pipe(
    Schema.filter((env) => {
      const bad = Object.keys(env).find((key) => !ENV_NAME.test(key))
      return bad === undefined || `env: ${JSON.stringify(bad)} is not a variable name (letters, digits, _; not starting with a digit)`
    })
  ))
})
export type CommandPayload = typeof CommandPayload.Type

export const CommandResult = Schema.Struct({ exitCode: Schema.Int })

/** Why a program failed its attempt: a non-zero exit, a signal, or it could not start. */
export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  reason: Schema.Literal("exit", "signal", "spawn"),
  exitCode: Schema.NullOr(Schema.Int),
  message: Schema.String
}) {}

/**
 * Runs in-process (`execution: "fiber"`): the program is the work, the runtime only waits for
 * it, so it holds no worker thread. One attempt by default — a program is not assumed to be
 * safe to run twice; a submit may ask for retries. The task's `timeout` bounds the program.
 */
export const Command = TaskDefinition.make(name, {
  payload: CommandPayload,
  success: CommandResult,
  failure: CommandFailed,
  execution: "fiber",
  retry: { maxAttempts: 1 }
})
