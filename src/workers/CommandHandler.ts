import * as PlatformCommand from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as CommandTask from "../domain/CommandTask.js"
import type { LogLevel, TaskContext, TaskHandler } from "../domain/TaskDefinition.js"
import * as Handlers from "./Handlers.js"

// The handler of the built-in `command` type: spawns argv through @effect/platform Command
// (no shell) in a process group of its own, forwards stdout lines as info and stderr lines as
// warn, and fails the attempt on a non-zero exit or a signal. However the attempt ends — exit,
// cancel, timeout, shutdown — the whole group gets SIGTERM, then SIGKILL after `grace`.
// docs/design.md: "Command tasks".

export interface Options {
  /** How long the process group has between SIGTERM and SIGKILL. */
  readonly grace: Duration.DurationInput
}

const executor = NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer))

/** Signals the process group led by `pid`; false when no process of it is left. */
const signalGroup = (pid: number, signal: NodeJS.Signals): boolean => {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

/**
 * Ends the group: SIGTERM now; when its output pipes have not closed within `grace` (some
 * member ignores SIGTERM or still runs), SIGKILL. The pipes close when the last member that
 * holds them exits, so the wait needs no polling.
 */
const endGroup = (pid: number, drained: Effect.Effect<void>, grace: Duration.Duration) =>
  Effect.gen(function*() {
    if (!signalGroup(pid, "SIGTERM")) return yield* drained
    const done = yield* Effect.timeout(drained, grace).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
    if (done) return
    signalGroup(pid, "SIGKILL")
    // A member that left the group (setsid) may still hold a pipe: stop reading after one more grace.
    yield* Effect.timeout(drained, grace).pipe(Effect.ignore)
  })

const lines = (bytes: Stream.Stream<Uint8Array, unknown>, onLine: (line: string) => Effect.Effect<void>) =>
  bytes.pipe(Stream.decodeText(), Stream.splitLines, Stream.runForEach(onLine), Effect.ignore)

const build = (payload: CommandTask.CommandPayload): PlatformCommand.Command => {
  const [program, ...args] = payload.argv
  let command = PlatformCommand.make(program, ...args)
  if (payload.cwd !== undefined) command = PlatformCommand.workingDirectory(command, payload.cwd)
  if (payload.env !== undefined) command = PlatformCommand.env(command, payload.env)
  return command
}

const run = (payload: CommandTask.CommandPayload, ctx: TaskContext, grace: Duration.Duration) =>
  Effect.gen(function*() {
    const program = payload.argv[0]
    const proc: CommandExecutor.Process = yield* PlatformCommand.start(build(payload)).pipe(
      Effect.mapError((e) => new CommandTask.CommandFailed({ reason: "spawn", exitCode: null, message: `cannot start ${program}: ${e.message}` }))
    )
    let lastError = ""
    const forward = (level: LogLevel) => (line: string) => {
      if (level === "warn" && line.trim().length > 0) lastError = line
      return ctx.log(level, line)
    }
    const out = yield* Effect.fork(lines(proc.stdout, forward("info")))
    const err = yield* Effect.fork(lines(proc.stderr, forward("warn")))
    const drained = Effect.asVoid(Fiber.joinAll([out, err]))
    // Runs before the platform's own release (finalizers run in reverse): on interruption the
    // group is ended here, so the platform's wait for the exit code returns.
    yield* Effect.addFinalizer(() => endGroup(proc.pid, drained, grace))
    const exit = yield* Effect.either(proc.exitCode)
    // The program has exited; members it left behind are ended and its output read to the end.
    yield* endGroup(proc.pid, drained, grace)
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
export const handlers = (options: Options): Handlers.Handlers => Handlers.make(make(options))
