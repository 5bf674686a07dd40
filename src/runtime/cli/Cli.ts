import { version } from "../version.js"
import * as Command from "@effect/cli/Command"
import * as Commands from "./Commands.js"
import { start } from "./Start.js"

/** `troupe`: the server (`start`) and the commands that talk to it. */
export const troupe = Command.make("troupe").pipe(
  Command.withDescription("a durable, priority-based task runtime: run it with `troupe start`, drive it with the other commands"),
  Command.withSubcommands([start, ...Commands.all])
)

/** Parses argv (process.argv form) and runs the command. */
export const run = Command.run(troupe, { name: "troupe", version })
