#!/usr/bin/env node
/**
 * The `troupe` executable: parses the command line and runs it under NodeRuntime.runMain, which
 * turns SIGINT/SIGTERM into interruption (graceful shutdown for `troupe start`). Exit codes are
 * the documented ones (cli/ExitCode.ts); a message for the user goes to stderr.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Cli from "./cli/Cli.js"
import { CliExit, ExitCode } from "./cli/ExitCode.js"
import * as Suggest from "./cli/Suggest.js"

const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return ExitCode.ok
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return ExitCode.error
  const e = failure.value
  if (ValidationError.isValidationError(e)) return ExitCode.usage
  if (typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "CliExit") return (e as { code: number }).code
  return ExitCode.error
}

// Help, and the refusal of an unknown command, are laid out here for 80 columns (cli/Help.ts)
// rather than by @effect/cli.
const args = process.argv.slice(2)
const help = Cli.help(args)
const unknown = Suggest.unknownCommand(Cli.troupe, args)
const main = help !== undefined
  ? Effect.sync(() => void process.stdout.write(help))
  : unknown !== undefined
  ? Effect.fail(new CliExit({ code: ExitCode.usage, message: unknown }))
  : Cli.run(process.argv)

main.pipe(
  Effect.tapError((e) =>
    Effect.sync(() => {
      // @effect/cli already printed validation errors with the help text; add the command or
      // flag that was probably meant.
      if (ValidationError.isValidationError(e)) {
        const hint = Suggest.hint(Cli.troupe, process.argv.slice(2))
        if (hint !== undefined) process.stderr.write(`troupe: ${hint.split("\n").join("\ntroupe: ")}\n`)
        return
      }
      const message = (e as { message?: unknown }).message
      if (typeof message === "string" && message.length > 0) process.stderr.write(`troupe: ${message.split("\n").join("\ntroupe: ")}\n`)
    })),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      const code = exitCode(exit)
      // Anything but a documented ending (a defect, an unexpected error) is shown in full.
      if (code === ExitCode.error && Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
        const failure = Cause.failureOption(exit.cause)
        const known = Option.isSome(failure) && (failure.value as { _tag?: unknown })._tag === "CliExit"
        if (!known) process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
      }
      onExit(code)
    }
  })
)
