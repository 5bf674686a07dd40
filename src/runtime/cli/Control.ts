import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Client from "../client/Http.js"
import { CliExit, ExitCode } from "./ExitCode.js"
import { common, printJson, taskId, withClient } from "./Common.js"

// Changing tasks: cancel, pause and resume (a task, a type, the queue), retry, delete.

const done = (json: boolean, what: string) => (json ? printJson({ ok: true }) : Console.log(what))

export const cancel = Command.make("cancel", { ...common, id: taskId }, (o) =>
  withClient(o, (client) => Effect.zipRight(client.call("cancel", { id: o.id }), done(o.json, `cancelled ${o.id}`))))
  .pipe(Command.withDescription("cancel a task; a running one is interrupted where it runs"))

const targetOptions = {
  ...common,
  id: Args.text({ name: "task-id" }).pipe(Args.optional),
  type: Options.text("type").pipe(Options.withDescription("every task of this type"), Options.optional),
  queue: Options.boolean("queue").pipe(Options.withDescription("the whole queue"))
}

const target = (o: Command.Command.ParseConfig<typeof targetOptions>, verb: string) => {
  const given = [Option.isSome(o.id), Option.isSome(o.type), o.queue].filter(Boolean).length
  if (given !== 1) return Effect.fail(new CliExit({ code: ExitCode.usage, message: `${verb} needs exactly one of: a task id, --type TYPE, --queue` }))
  return Effect.succeed(
    Option.isSome(o.id) ? { params: { id: o.id.value }, what: o.id.value }
    : Option.isSome(o.type) ? { params: { type: o.type.value }, what: `type ${o.type.value}` }
    : { params: { queue: true }, what: "the queue" }
  )
}

/** Whether the target is paused now (read before a pause or resume, to say when nothing changed). */
const pausedNow = (client: Client.Client["Type"], params: { readonly id?: string; readonly type?: string; readonly queue?: boolean }) =>
  params.id !== undefined
    ? Effect.map(client.call("get", { id: params.id }), (task) => (task as { readonly status: string }).status === "paused")
    : Effect.map(client.call("stats"), (stats) => {
      const paused = (stats as { readonly paused: { readonly queue: boolean; readonly types: ReadonlyArray<string> } }).paused
      return params.type !== undefined ? paused.types.includes(params.type) : paused.queue
    })

export const pauseOrResume = (verb: "pause" | "resume", description: string) =>
  Command.make(verb, targetOptions, (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const t = yield* target(o, verb)
        const before = yield* pausedNow(client, t.params)
        yield* client.call(verb, t.params)
        const unchanged = before === (verb === "pause")
        yield* done(
          o.json,
          unchanged
            ? `${t.what} was ${verb === "pause" ? "already paused" : "not paused"}: nothing changed`
            : `${verb === "pause" ? "paused" : "resumed"} ${t.what}`
        )
      }))).pipe(Command.withDescription(description))

export const retry = Command.make("retry", { ...common, id: taskId }, (o) =>
  withClient(o, (client) => Effect.zipRight(client.call("retry", { id: o.id }), done(o.json, `retrying ${o.id}`))))
  .pipe(Command.withDescription("run a failed or cancelled task again with a fresh attempt budget"))

export const remove = Command.make("delete", {
  ...common,
  id: taskId,
  force: Options.boolean("force").pipe(Options.withDescription("cancel an unfinished task first"))
}, (o) =>
  withClient(o, (client) => Effect.zipRight(client.call("delete", { id: o.id, force: o.force }), done(o.json, `deleted ${o.id}`))))
  .pipe(Command.withDescription("delete a finished task and its logs"))

