import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import { repeatable } from "./repeatable.js"

// `troupe start`: the runtime (store, scheduler, pool, governor) with the JSON-RPC server, until
// SIGINT/SIGTERM. Flags override the TROUPE_* environment, which overrides the defaults. Only
// the flags are defined here: the runtime is loaded when `start` runs (cli/Serve.ts), so the
// other commands do not pay for it.

export const options = {
  handlers: repeatable(Options.text("handlers").pipe(
    Options.withDescription("compiled handlers module (default-exports Handlers.make(...)); repeatable (env TROUPE_HANDLERS, comma-separated)")
  )),
  host: Options.text("host").pipe(
    Options.withFallbackConfig(Config.string("TROUPE_HOST").pipe(Config.withDefault("127.0.0.1"))),
    Options.withDescription("address to serve on (anything but loopback needs --token)")
  ),
  port: Options.integer("port").pipe(
    Options.withFallbackConfig(Config.integer("TROUPE_PORT").pipe(Config.withDefault(7420))),
    Options.withDescription("port to serve on (0: any free port)")
  ),
  token: Options.redacted("token").pipe(Options.withDescription("bearer token required from clients (env TROUPE_TOKEN)"), Options.optional),
  database: Options.text("database").pipe(Options.withDescription("SQLite file, or a postgres:// URL (env TROUPE_DATABASE; default ./troupe.db)"), Options.optional),
  workers: Options.text("num-workers").pipe(Options.withDescription("worker threads: N, MIN-MAX or auto (env TROUPE_WORKERS)"), Options.optional),
  shutdownTimeout: Options.text("shutdown-timeout").pipe(
    Options.withDescription(`how long running tasks may finish on SIGINT/SIGTERM before they are requeued ("30 seconds")`),
    Options.optional
  ),
  allowCommands: Options.boolean("allow-commands").pipe(Options.withDescription("enable the built-in `command` task type, which runs programs (env TROUPE_ALLOW_COMMANDS=true)")),
  workload: Options.text("workload").pipe(
    Options.withDescription("a module whose default export is an Effect run once at start (e.g. submits a demo workload)"),
    Options.optional
  ),
  progress: Options.boolean("progress").pipe(Options.withDescription("show live progress of running tasks in this terminal"))
}

export type StartOptions = Command.Command.ParseConfig<typeof options>

export const start = Command.make("start", options, (o) =>
  Effect.flatMap(Effect.promise(() => import("./Serve.js")), (serve) => serve.run(o))
).pipe(Command.withDescription("run the runtime and serve its API until SIGINT/SIGTERM"))
