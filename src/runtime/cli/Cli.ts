import { version } from "../version.js"
import * as Command from "@effect/cli/Command"
import * as Commands from "./Commands.js"
import * as Help from "./Help.js"
import { start } from "./Start.js"

const description = "a durable, priority-based task runtime: run it with `troupe start`, drive it with the other commands"

/** `troupe`: the server (`start`) and the commands that talk to it. */
export const troupe = Command.make("troupe").pipe(
  Command.withDescription(description),
  Command.withSubcommands([start, ...Commands.all])
)

/** The help text `args` (argv after the program) asks for, laid out for 80 columns (cli/Help.ts). */
export const help = (args: ReadonlyArray<string>): string | undefined => Help.requested("troupe", description, [start, ...Commands.all], args)

/** Parses argv (process.argv form) and runs the command. */
export const run = Command.run(troupe, { name: "troupe", version })
