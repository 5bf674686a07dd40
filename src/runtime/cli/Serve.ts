import * as HttpServer from "@effect/platform/HttpServer"
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
import * as TaskStatus from "../../domain/TaskStatus.js"
import { version } from "../version.js"
import * as Board from "./Board.js"
import * as Help from "./Help.js"
import * as Live from "./Live.js"
import * as Screen from "./Screen.js"
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
const signals = (shutdownTimeout: Duration.Duration, say: (line: string) => void, leave: () => void) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let seen = 0
      const onSignal = (signal: NodeJS.Signals) => {
        seen++
        if (seen === 1) {
          say(
            `${signal}: stopping — no new tasks are claimed; running ones get up to ${Duration.format(shutdownTimeout)}, then go back to the queue. ` +
              `${signal} again exits at once.`
          )
        } else {
          leave()
          say(`${signal} again: exiting now. Tasks still running run again when troupe next starts here (in a new container: once their lease expires).`)
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
  Effect.gen(function*() {
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
  })

/** Live progress of this process's tasks in the terminal. */
const progress = (screen: Screen.Screen) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    const snapshot = Board.snapshot(queue.counts, queue.list({ status: ["running"], limit: Board.snapshotLimit }))
    yield* Effect.forkScoped(Live.view(Stream.retry(queue.events, Schedule.forever), snapshot, { screen }))
  })

/** The worker threads as resolved: "auto" says how many it came to on this machine. */
const workersOf = (workers: TroupeConfig.TroupeConfig["workers"]) =>
  workers === "auto" ? `${os.availableParallelism()} (auto: one per core)` : typeof workers === "object" ? `${workers.min}-${workers.max}` : String(workers)

/** What the store held when this process started: "new", or what it resumes. */
const found = (counts: Readonly<Record<string, number>> | undefined) => {
  if (counts === undefined) return { unfinished: 0, said: "its tasks could not be counted (see the log)" }
  const unfinished = TaskStatus.all.filter((s) => !TaskStatus.isFinal(s)).reduce((n, s) => n + (counts[s] ?? 0), 0)
  const finished = TaskStatus.finals.reduce((n, s) => n + (counts[s] ?? 0), 0)
  if (unfinished + finished === 0) return { unfinished, said: "new and empty" }
  if (unfinished === 0) return { unfinished, said: `nothing unfinished (${finished} finished task${finished === 1 ? "" : "s"} kept)` }
  return { unfinished, said: `resuming ${unfinished} unfinished task${unfinished === 1 ? "" : "s"} (${finished} finished kept)` }
}

const label = (name: string, value: string) => Help.wrap(value, " ".repeat(14), `  ${name.padEnd(12)}`)

/** What `troupe start` tells on start-up, each line within 80 columns. */
const banner = (token: Token.Resolved, config: TroupeConfig.TroupeConfig, telemetry: Telemetry.EnvConfig, workloadPath: string | undefined) =>
  Effect.gen(function*() {
    const address = yield* HttpServer.addressWith(Effect.succeed)
    const registry = yield* Registry
    const queue = yield* TaskQueue
    const store = found(yield* queue.counts.pipe(
      Effect.tapErrorCause((cause) => Effect.logWarning("could not count the stored tasks", cause)),
      Effect.orElseSucceed(() => undefined)
    ))
    const where = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : `unix:${address.path}`
    return [
      `troupe ${version} listening on ${where}`,
      ...label("dashboard", `${where}/`),
      ...label("API", `POST ${where}/rpc (JSON-RPC; described at GET /openrpc.json) · GET /api`),
      ...label("streams", "GET /events · GET /logs · GET /health"),
      ...label("store", `${Database.describe(config.database)}: ${store.said}`),
      ...(workloadPath === undefined ? [] : label("workload", `${workloadPath}${store.unfinished > 0 ? ", submitted on top of them" : ""}`)),
      ...label("workers", workersOf(config.workers)),
      ...label("task types", registry.names.join(", ") || "none: no handlers module (--handlers or TROUPE_HANDLERS), so tasks can be submitted but none runs here"),
      ...label("access", `${Token.describe(token)} · commands ${config.allowCommands ? "on" : "off"} · ${Telemetry.describe(telemetry)}`),
      ...Help.wrap(`Ctrl-C stops gracefully (running tasks get ${Duration.format(config.shutdownTimeout)}); a second Ctrl-C exits at once.`, "")
    ]
  })

/**
 * What runs once the server is up, in this order: the banner (what the store held before the
 * workload adds to it), the workload, the live progress view.
 */
const startup = (o: StartOptions, config: TroupeConfig.TroupeConfig, token: Token.Resolved, telemetry: Telemetry.EnvConfig, screen: Screen.Screen) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const workloadPath = Option.getOrUndefined(o.workload)
    screen.print(yield* banner(token, config, telemetry, workloadPath))
    if (workloadPath !== undefined) yield* workload(workloadPath)
    if (o.progress) yield* progress(screen)
  }))

/** The whole server as one layer: runtime, API, banner, optional workload and progress view. */
export const layer = (o: StartOptions, screen: Screen.Screen = Screen.stdout()) =>
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
    return startup(o, config, token, telemetry, screen).pipe(
      Layer.provide(server),
      Layer.provideMerge(runtime)
    )
  }))

/** Runs the server until SIGINT/SIGTERM; a start-up failure is exit code 6 with its message. */
export const run = (o: StartOptions) =>
  Effect.gen(function*() {
    const config = yield* configure(o)
    // With --progress, every line this process prints goes through the screen: log lines land
    // above the live region instead of being erased by its next frame.
    const screen = Screen.stdout()
    const live = o.progress && screen.live
    yield* signals(
      config.shutdownTimeout,
      (line) => live ? screen.print(Help.wrap(line, "", "", screen.columns)) : process.stderr.write(`\n${line}\n`),
      () => screen.clear()
    )
    const launch = Layer.launch(layer(o, screen))
    return yield* live ? Screen.routeLogs(screen)(launch) : launch
  }).pipe(
    Effect.scoped,
    Effect.catchTag("TroupeStartError", (e) => Effect.fail(new CliExit({ code: ExitCode.cannotStart, message: `cannot start: ${e.message}` })))
  )
