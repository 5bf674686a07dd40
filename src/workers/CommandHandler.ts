import * as PlatformCommand from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as CommandTask from "../domain/CommandTask.js"
import type { LogLevel, TaskContext, TaskHandler } from "../domain/TaskDefinition.js"
import * as Handlers from "./Handlers.js"
import * as LineSplitter from "./LineSplitter.js"

// The handler of the built-in `command` type: spawns argv through @effect/platform Command
// (no shell, stdin at end of input) in a process group of its own, forwards stdout lines as
// info and stderr lines as warn, and fails the attempt on a non-zero exit or a signal. However
// the attempt ends — exit, cancel, timeout, shutdown — the whole group gets SIGTERM, then
// SIGKILL once `grace` has passed with anything of it left. docs/design.md: "Command tasks".

export interface Options {
  /** How long the process group has between SIGTERM and SIGKILL. */
  readonly grace: Duration.DurationInput
}

/** Longest log line taken from a program; longer output is cut into pieces. */
const MAX_LINE = 8 * 1024

/** Variables of the server that a program does not inherit (credentials of troupe itself). */
const PRIVATE_ENV = ["TROUPE_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS"]

const executor = NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer))

/** Signals the process group led by `pid` (0: only checks it); false when none of it is left. */
const signalGroup = (pid: number, signal: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

// Groups still running, killed if this process exits without ending them (a second signal,
// process.exit): a program must not outlive the server and then run again on the next start.
// (A SIGKILL of the server itself leaves them; nothing in-process can help there.)
const live = new Set<number>()
let reaperInstalled = false
const track = (pid: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      if (!reaperInstalled) {
        reaperInstalled = true
        process.on("exit", () => {
          for (const group of live) signalGroup(group, "SIGKILL")
        })
      }
      live.add(pid)
    }),
    () => Effect.sync(() => live.delete(pid))
  )

const groupGone = (pid: number) =>
  Effect.repeat(Effect.sync(() => signalGroup(pid, 0)), { while: (alive) => alive, schedule: Schedule.spaced("20 millis") })

/**
 * Ends the group: SIGTERM, up to `grace` for the leader to exit and the group to empty, then
 * SIGKILL for what is left; then up to `grace` more for the output readers (a process that
 * left the group with `setsid` may hold the pipes). Every wait is bounded. Interruptible inside
 * so its timeouts work when it runs as a finalizer.
 */
const endGroup = (pid: number, exited: Effect.Effect<void>, drained: Effect.Effect<void>, grace: Duration.Duration) =>
  Effect.gen(function*() {
    if (signalGroup(pid, "SIGTERM")) {
      const ended = yield* Effect.interruptible(Effect.zip(exited, groupGone(pid))).pipe(
        Effect.timeout(grace),
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      )
      if (!ended) signalGroup(pid, "SIGKILL")
    }
    yield* Effect.interruptible(drained).pipe(Effect.timeout(grace), Effect.ignore)
  })

const lines = (bytes: Stream.Stream<Uint8Array, unknown>, onLine: (line: string) => Effect.Effect<void>) =>
  Effect.suspend(() => {
    const splitter = LineSplitter.make(MAX_LINE)
    return bytes.pipe(
      Stream.decodeText(),
      Stream.runForEach((text) => Effect.forEach(splitter.push(text), onLine, { discard: true })),
      Effect.ignore,
      Effect.zipRight(Effect.suspend(() => Effect.forEach(splitter.end(), onLine, { discard: true })))
    )
  })

const environment = (extra: Readonly<Record<string, string>> | undefined): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !PRIVATE_ENV.includes(key)) env[key] = value
  }
  return { ...env, ...extra }
}

const build = (payload: CommandTask.CommandPayload): PlatformCommand.Command => {
  const [program, ...args] = payload.argv
  let command = PlatformCommand.make(program, ...args).pipe(
    PlatformCommand.env(environment(payload.env), { extendEnv: false }),
    // End of input at once: a program that reads stdin must not wait forever.
    PlatformCommand.stdin(Stream.empty)
  )
  if (payload.cwd !== undefined) command = PlatformCommand.workingDirectory(command, payload.cwd)
  return command
}

const run = (payload: CommandTask.CommandPayload, ctx: TaskContext, grace: Duration.Duration) =>
  Effect.gen(function*() {
    const program = payload.argv[0]
    const proc: CommandExecutor.Process = yield* PlatformCommand.start(build(payload)).pipe(
      Effect.mapError((e) => new CommandTask.CommandFailed({ reason: "spawn", exitCode: null, message: `cannot start ${program}: ${e.message}` }))
    )
    yield* track(proc.pid)
    let lastError = ""
    const forward = (level: LogLevel) => (line: string) => {
      if (level === "warn" && line.trim().length > 0) lastError = line
      return ctx.log(level, line)
    }
    // Scoped, not children: interrupting the attempt must not stop the readers before the
    // group has ended, or the program's last words (a cleanup message on SIGTERM) are lost.
    const out = yield* Effect.forkScoped(lines(proc.stdout, forward("info")))
    const err = yield* Effect.forkScoped(lines(proc.stderr, forward("warn")))
    const drained = Effect.asVoid(Fiber.joinAll([out, err]))
    const exited = Effect.ignore(proc.exitCode)
    // Runs before the readers are interrupted and before the platform's own release
    // (finalizers run in reverse), so the platform's wait for the exit code returns.
    let ended = false
    yield* Effect.addFinalizer(() => (ended ? Effect.void : endGroup(proc.pid, exited, drained, grace)))
    const exit = yield* Effect.either(proc.exitCode)
    // The program has exited: members it left behind are ended and its output read to the end.
    yield* endGroup(proc.pid, exited, drained, grace)
    // Once ended, its pid may be reused: it is not signalled again.
    ended = true
    const detail = lastError.length > 0 ? `: ${lastError.slice(0, 200)}` : ""
    if (exit._tag === "Left") {
      return yield* new CommandTask.CommandFailed({ reason: "signal", exitCode: null, message: `${program} was killed${detail} (${exit.left.message})` })
    }
    const exitCode = exit.right
    if (exitCode !== 0) {
      return yield* new CommandTask.CommandFailed({ reason: "exit", exitCode, message: `${program} exited with code ${exitCode}${detail}` })
    }
    return { exitCode }
  }).pipe(Effect.scoped, Effect.provide(executor))

/** The `command` handler. */
export const make = (options: Options): TaskHandler => {
  const grace = Duration.decode(options.grace)
  return CommandTask.Command.handler((payload, ctx) => run(payload, ctx, grace))
}

/** A registry holding only the `command` type, to merge with the app's handlers. */
export const handlers = (options: Options): Handlers.Any => Handlers.make(make(options))
