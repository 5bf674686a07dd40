import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Client from "../client/Http.js"
import * as JsonRpc from "../api/JsonRpc.js"
import * as Api from "../api/Api.js"
import { CliExit, ExitCode } from "./ExitCode.js"
import * as Follow from "./Follow.js"
import { isLive, Screen } from "./Screen.js"
import * as Render from "./Render.js"
import { splitCommand } from "./splitCommand.js"
import { common, decode, durationParam, events, parsePriority, payloadOf, printJson, withClient } from "./Common.js"
import { repeatable } from "./repeatable.js"

// `troupe submit`: one task (or a program, with --command), and with --wait its progress to the end.

const submitOptions = {
  ...common,
  type: Args.text({ name: "type" }).pipe(Args.withDescription("task type (omit with --command)"), Args.optional),
  payload: Args.text({ name: "payload" }).pipe(Args.withDescription("payload as JSON (default {})"), Args.optional),
  priority: Options.text("priority").pipe(Options.withDescription("low, normal, high, critical or an integer"), Options.optional),
  delay: Options.text("delay").pipe(Options.withDescription(`run no earlier than this from now ("30 seconds")`), Options.optional),
  timeout: Options.text("timeout").pipe(Options.withDescription(`per-attempt timeout ("5 minutes")`), Options.optional),
  id: Options.text("id").pipe(Options.withDescription("choose the task id"), Options.optional),
  key: Options.text("key").pipe(Options.withDescription("actor key: one task per key at a time, in order"), Options.optional),
  rateKey: Options.text("rate-key").pipe(Options.withDescription("the allowance it counts in when its type's rate limit is per key"), Options.optional),
  idempotencyKey: Options.text("idempotency-key").pipe(Options.withDescription("submitting again with the same key returns the first task"), Options.optional),
  dependsOn: repeatable(Options.text("depends-on").pipe(Options.withDescription("a task that must complete first (repeatable)"))),
  command: Options.text("command").pipe(
    Options.withDescription(`run a program as a "command" task (argv split like a shell, no shell features; the server needs --allow-commands)`),
    Options.optional
  ),
  cwd: Options.text("cwd").pipe(Options.withDescription("working directory of --command"), Options.optional),
  env: Options.keyValueMap("env").pipe(Options.withDescription("environment of --command (KEY=VALUE, repeatable)"), Options.optional),
  wait: Options.boolean("wait").pipe(Options.withDescription("show the task's progress until it ends; the exit code tells how it ended"))
}

/** A payload argument as JSON ({} when absent). */

const submitParams = (o: Command.Command.ParseConfig<typeof submitOptions>) =>
  Effect.gen(function*() {
    const options = {
      ...Option.match(o.priority, { onNone: () => ({}), onSome: (p) => ({ priority: parsePriority(p) }) }),
      ...Option.match(o.delay, { onNone: () => ({}), onSome: (d) => ({ delay: durationParam(d) }) }),
      ...Option.match(o.timeout, { onNone: () => ({}), onSome: (d) => ({ timeout: durationParam(d) }) }),
      ...Option.match(o.id, { onNone: () => ({}), onSome: (id) => ({ id }) }),
      ...Option.match(o.key, { onNone: () => ({}), onSome: (key) => ({ key }) }),
      ...Option.match(o.rateKey, { onNone: () => ({}), onSome: (rateKey) => ({ rateKey }) }),
      ...Option.match(o.idempotencyKey, { onNone: () => ({}), onSome: (idempotencyKey) => ({ idempotencyKey }) }),
      ...(o.dependsOn.length === 0 ? {} : { dependsOn: o.dependsOn })
    }
    if (Option.isSome(o.command)) {
      if (Option.isSome(o.type) || Option.isSome(o.payload)) {
        return yield* new CliExit({ code: ExitCode.usage, message: "give either a task type and payload, or --command, not both" })
      }
      const argv = splitCommand(o.command.value)
      if (argv === undefined || argv.length === 0) {
        return yield* new CliExit({ code: ExitCode.usage, message: `--command: cannot split ${JSON.stringify(o.command.value)} into arguments (unbalanced quotes?)` })
      }
      const payload = {
        argv,
        ...Option.match(o.cwd, { onNone: () => ({}), onSome: (cwd) => ({ cwd }) }),
        ...Option.match(o.env, { onNone: () => ({}), onSome: (env) => ({ env: Object.fromEntries(HashMap.toEntries(env)) }) })
      }
      return { type: "command", payload, options }
    }
    if (Option.isNone(o.type)) return yield* new CliExit({ code: ExitCode.usage, message: "submit needs a task type (or --command)" })
    const payload = yield* payloadOf(o.payload)
    return { type: o.type.value, payload, options }
  })

const finalCode = (status: string | undefined) =>
  status === "completed" ? ExitCode.ok : status === "failed" ? ExitCode.taskFailed : status === "cancelled" ? ExitCode.taskCancelled : ExitCode.error

/** Follows a task to its end; exits with the code of its final status. */
export const waitFor = (client: Client.Client["Type"], id: string, json: boolean) =>
  Effect.gen(function*() {
    const backlog = Effect.flatMap(client.call("logs", { id }), (lines) => decode(Api.api.logs.success, lines))
    const screen = new Screen(process.stdout, !json && isLive())
    const status = yield* Follow.follow(events(client, `/events?task=${encodeURIComponent(id)}`), { screen, id, backlog })
    const task = yield* Effect.flatMap(client.call("get", { id }), (u) => decode(Api.api.get.success, u))
    const now = yield* Clock.currentTimeMillis
    yield* json ? printJson(task) : Console.log(Render.task(task, now))
    const code = finalCode(status ?? task.status)
    if (code !== ExitCode.ok) return yield* new CliExit({ code, message: "" })
  })

export const submit = Command.make("submit", submitOptions, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const params = yield* submitParams(o)
      // Checked here as the server would (depth, then the params Schema): a bad option is told
      // before any call, in the same words.
      if (JsonRpc.deeperThan(params, JsonRpc.maxParamsDepth)) {
        return yield* new CliExit({ code: ExitCode.usage, message: `invalid params: nested more than ${JsonRpc.maxParamsDepth} levels deep (the limit)` })
      }
      const checked = Api.decodeParams("submit", params)
      if (Either.isLeft(checked)) return yield* new CliExit({ code: ExitCode.usage, message: checked.left })
      const result = yield* client.call("submit", params)
      const { id } = yield* decode(Api.api.submit.success, result)
      // The id first, --wait or not: after a Ctrl-C the task can still be found.
      if (!o.json) yield* Console.log(id)
      if (o.wait) return yield* waitFor(client, id, o.json)
      if (o.json) yield* printJson({ id })
    }))).pipe(Command.withDescription("submit a task (prints its id), or with --wait follow it to the end"))

