import * as HttpServer from "@effect/platform/HttpServer"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import { pathToFileURL } from "node:url"
import { Registry } from "../../services/queue/Registry.js"
import * as SystemMetrics from "../../services/resources/SystemMetrics.js"
import { TaskQueue } from "../../services/queue/TaskQueue.js"
import * as Server from "../api/Server.js"
import * as Token from "../api/Token.js"
import * as Telemetry from "../Telemetry.js"
import * as Database from "../database.js"
import * as Troupe from "../Troupe.js"
import * as TroupeConfig from "../TroupeConfig.js"
import { CliExit, ExitCode } from "./ExitCode.js"
import * as Live from "./Live.js"
import type { StartOptions } from "./Start.js"

// What `troupe start` runs, loaded only when it runs (cli/Start.ts defines its flags).

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
  yield* Effect.forkScoped(Live.view(Stream.retry(queue.events, Schedule.forever), queue.counts, { tty: Live.isTty() }))
}))

/** The worker threads as resolved: "auto" says how many it came to on this machine. */
const workersOf = (workers: TroupeConfig.TroupeConfig["workers"]) =>
  workers === "auto" ? `${os.availableParallelism()} (auto: one per core)` : typeof workers === "object" ? `${workers.min}-${workers.max}` : String(workers)

const banner = (token: Token.Resolved, config: TroupeConfig.TroupeConfig, telemetry: Telemetry.EnvConfig) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const address = yield* HttpServer.addressWith(Effect.succeed)
    const registry = yield* Registry
    const where = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : `unix:${address.path}`
    yield* Console.log(`troupe listening on ${where} (about: GET /api · JSON-RPC: POST /rpc, described at GET /openrpc.json · events: GET /events · logs: GET /logs · health: GET /health)`)
    yield* Console.log(`dashboard: ${where}/`)
    yield* Console.log(
      `store ${Database.describe(config.database)} · workers ${workersOf(config.workers)}` +
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

/** Runs the server until SIGINT/SIGTERM; a start-up failure is exit code 6 with its message. */
export const run = (o: StartOptions) =>
  Effect.gen(function*() {
    const config = yield* configure(o)
    yield* signals(config.shutdownTimeout)
    return yield* Layer.launch(layer(o))
  }).pipe(
    Effect.scoped,
    Effect.catchTag("TroupeStartError", (e) => Effect.fail(new CliExit({ code: ExitCode.cannotStart, message: `cannot start: ${e.message}` })))
  )
