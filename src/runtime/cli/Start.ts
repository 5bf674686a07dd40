import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { pathToFileURL } from "node:url"
import { Registry } from "../../services/queue/Registry.js"
import * as SystemMetrics from "../../services/resources/SystemMetrics.js"
import { TaskQueue } from "../../services/queue/TaskQueue.js"
import * as Server from "../api/Server.js"
import * as Token from "../api/Token.js"
import * as Telemetry from "../Telemetry.js"
import * as Troupe from "../Troupe.js"
import * as TroupeConfig from "../TroupeConfig.js"
import { CliExit, ExitCode } from "./ExitCode.js"
import * as Live from "./Live.js"

// `troupe start`: the runtime (store, scheduler, pool, governor) with the JSON-RPC server, until
// SIGINT/SIGTERM. Flags override the TROUPE_* environment, which overrides the defaults.

const options = {
  handlers: Options.text("handlers").pipe(
    Options.withDescription("compiled handlers module (default-exports Handlers.make(...)); repeatable (env TROUPE_HANDLERS, comma-separated)"),
    Options.repeated
  ),
  host: Options.text("host").pipe(
    Options.withFallbackConfig(Config.string("TROUPE_HOST").pipe(Config.withDefault("127.0.0.1"))),
    Options.withDescription("address to serve on (anything but loopback needs --token)")
  ),
  port: Options.integer("port").pipe(
    Options.withFallbackConfig(Config.integer("TROUPE_PORT").pipe(Config.withDefault(7420))),
    Options.withDescription("port to serve on (0: any free port)")
  ),
  token: Options.redacted("token").pipe(Options.withDescription("bearer token required from clients (env TROUPE_TOKEN)"), Options.optional),
  database: Options.text("database").pipe(Options.withDescription("SQLite file (env TROUPE_DATABASE; default ./troupe.db)"), Options.optional),
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

type StartOptions = Command.Command.ParseConfig<typeof options>

const usage = (message: string) => new CliExit({ code: ExitCode.usage, message })

/** The runtime configuration: defaults, then TROUPE_* variables, then the flags. */
const configure = (o: StartOptions) =>
  Effect.gen(function*() {
    const base = yield* Effect.mapError(TroupeConfig.config, (e) => usage(`configuration: ${e.message}`))
    const workers = Option.isNone(o.workers) ? base.workers : TroupeConfig.parseWorkers(o.workers.value)
    if (workers === undefined) return yield* usage(`--num-workers: expected N, MIN-MAX or auto, got ${JSON.stringify(Option.getOrElse(o.workers, () => ""))}`)
    const shutdownTimeout = Option.isNone(o.shutdownTimeout) ? Option.some(base.shutdownTimeout) : Duration.decodeUnknown(o.shutdownTimeout.value)
    if (Option.isNone(shutdownTimeout)) return yield* usage(`--shutdown-timeout: not a duration: ${JSON.stringify(Option.getOrElse(o.shutdownTimeout, () => ""))}`)
    const config: TroupeConfig.TroupeConfig = {
      ...base,
      database: Option.getOrElse(o.database, () => base.database),
      // Flags are taken whole (a path may hold a comma); the variable is comma-separated.
      handlersModule: o.handlers.length === 0 ? base.handlersModule : o.handlers.length === 1 ? o.handlers[0] : o.handlers,
      allowCommands: o.allowCommands || base.allowCommands,
      workers,
      shutdownTimeout: shutdownTimeout.value
    }
    return config
  })

/**
 * A second SIGINT/SIGTERM while shutting down exits at once (acknowledged tasks are durable).
 * Installed around the whole launch so it outlives the runtime's finalizers (the drain).
 */
const signals = (shutdownTimeout: Duration.Duration) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let seen = 0
      const onSignal = (signal: NodeJS.Signals) => {
        seen++
        if (seen === 1) {
          process.stderr.write(
            `\n${signal}: stopping — no new tasks are claimed; running ones get up to ${Duration.format(shutdownTimeout)}, then go back to the queue. ` +
              `${signal} again exits at once.\n`
          )
        } else {
          process.stderr.write(`${signal} again: exiting now. Tasks still running run again when troupe next starts here (in a new container: once their lease expires).\n`)
          process.exit(130)
        }
      }
      process.on("SIGINT", onSignal)
      process.on("SIGTERM", onSignal)
      return onSignal
    }),
    (onSignal) => Effect.sync(() => {
      process.removeListener("SIGINT", onSignal)
      process.removeListener("SIGTERM", onSignal)
    })
  )

/** Imports a workload module and runs its default export once, in the background. */
const workload = (path: string) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(path).href) as Promise<{ readonly default?: unknown }>,
      catch: (e) => new Troupe.TroupeStartError({ message: `cannot load workload ${path}: ${String(e)}` })
    })
    if (!Effect.isEffect(mod.default)) {
      return yield* new Troupe.TroupeStartError({ message: `workload ${path} must default-export an Effect` })
    }
    const run = mod.default as Effect.Effect<unknown, unknown, TaskQueue>
    yield* Effect.forkScoped(run.pipe(
      Effect.tapErrorCause((cause) => Effect.logError("workload failed", cause)),
      Effect.ignore
    ))
  }))

/** Live progress of this process's tasks in the terminal. */
const progress = Layer.scopedDiscard(Effect.gen(function*() {
  const queue = yield* TaskQueue
  yield* Effect.forkScoped(Live.view(queue.events, queue.counts, { tty: Live.isTty() }))
}))

const banner = (token: Token.Resolved, config: TroupeConfig.TroupeConfig, telemetry: Telemetry.EnvConfig) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const address = yield* HttpServer.addressWith(Effect.succeed)
    const registry = yield* Registry
    const where = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : `unix:${address.path}`
    yield* Console.log(`troupe listening on ${where} (about: GET / · JSON-RPC: POST /rpc · events: GET /events · logs: GET /logs · health: GET /health)`)
    yield* Console.log(
      `store ${config.database} · workers ${typeof config.workers === "object" ? `${config.workers.min}-${config.workers.max}` : config.workers}` +
        ` · task types: ${registry.names.join(", ") || "none"} · commands ${config.allowCommands ? "on" : "off"}` +
        ` · ${Token.describe(token)} · ${Telemetry.describe(telemetry)}`
    )
    if (registry.names.length === 0) {
      yield* Console.log("warning: no handlers module (--handlers or TROUPE_HANDLERS): tasks can be submitted, but none runs here")
    }
    yield* Console.log(`Ctrl-C stops gracefully (running tasks get ${Duration.format(config.shutdownTimeout)}); a second Ctrl-C exits at once.`)
  }))

/** The whole server as one layer: runtime, API, banner, optional workload and progress view. */
export const layer = (o: StartOptions) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const config = yield* configure(o)
    const token = yield* Token.fromFlagOrEnv(o.token)
    // Refused before anything starts (the server layer would refuse too, after the runtime).
    const refused = Token.refusal(o.host, token)
    if (refused !== undefined) return yield* new Troupe.TroupeStartError({ message: refused })
    // Telemetry from the standard OTEL_* variables (off unless an OTLP endpoint is set).
    const telemetry = yield* Effect.mapError(Telemetry.config, (e) => usage(`telemetry configuration: ${e.message}`))
    const runtime = Troupe.fromConfig(config, undefined, SystemMetrics.layerLive, Telemetry.layerOtlp(telemetry))
    const server = Server.layer({ host: o.host, port: o.port, token: token.token })
    const extras = Layer.mergeAll(
      banner(token, config, telemetry),
      Option.match(o.workload, { onNone: () => Layer.empty, onSome: workload }),
      o.progress ? progress : Layer.empty
    )
    return extras.pipe(
      Layer.provide(server),
      Layer.provideMerge(runtime)
    )
  }))

export const start = Command.make("start", options, (o) =>
  Effect.gen(function*() {
    const config = yield* configure(o)
    yield* signals(config.shutdownTimeout)
    return yield* Layer.launch(layer(o))
  }).pipe(
    Effect.scoped,
    Effect.catchTag("TroupeStartError", (e) => Effect.fail(new CliExit({ code: ExitCode.cannotStart, message: `cannot start: ${e.message}` })))
  )).pipe(Command.withDescription("run the runtime and serve its API until SIGINT/SIGTERM"))

