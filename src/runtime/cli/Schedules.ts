import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Api from "../api/Api.js"
import { CliExit, ExitCode } from "./ExitCode.js"
import * as Render from "./Render.js"
import { common, decode, durationParam, parsePriority, payloadOf, printJson, withClient } from "./Common.js"

// Recurring tasks: schedule, unschedule, list them.

export const schedule = Command.make("schedule", {
  ...common,
  name: Args.text({ name: "name" }).pipe(Args.withDescription("the schedule's name (scheduling it again replaces it)")),
  type: Args.text({ name: "type" }).pipe(Args.withDescription("task type")),
  payload: Args.text({ name: "payload" }).pipe(Args.withDescription("payload as JSON (default {})"), Args.optional),
  cron: Options.text("cron").pipe(Options.withDescription(`a cron expression ("0 3 * * *"; 6 fields: seconds first)`), Options.optional),
  every: Options.text("every").pipe(Options.withDescription(`or an interval ("15 minutes", at least 1 second)`), Options.optional),
  timezone: Options.text("timezone").pipe(Options.withDescription(`the cron's time zone ("Europe/Berlin"; UTC by default)`), Options.optional),
  misfire: Options.choice("misfire", ["once", "skip"]).pipe(
    Options.withDescription("occurrences missed while nothing ran: run the latest once (default), or skip them"),
    Options.optional
  ),
  priority: Options.text("priority").pipe(Options.withDescription("low, normal, high, critical or an integer"), Options.optional),
  timeout: Options.text("timeout").pipe(Options.withDescription(`per-attempt timeout ("5 minutes")`), Options.optional)
}, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const payload = yield* payloadOf(o.payload)
      const options = {
        ...Option.match(o.cron, { onNone: () => ({}), onSome: (cron) => ({ cron }) }),
        ...Option.match(o.every, { onNone: () => ({}), onSome: (every) => ({ every: durationParam(every) }) }),
        ...Option.match(o.timezone, { onNone: () => ({}), onSome: (timezone) => ({ timezone }) }),
        ...Option.match(o.misfire, { onNone: () => ({}), onSome: (misfire) => ({ misfire }) }),
        ...Option.match(o.priority, { onNone: () => ({}), onSome: (p) => ({ priority: parsePriority(p) }) }),
        ...Option.match(o.timeout, { onNone: () => ({}), onSome: (d) => ({ timeout: durationParam(d) }) })
      }
      const params = { name: o.name, type: o.type, payload, options }
      const checked = Api.decodeParams("schedule", params)
      if (Either.isLeft(checked)) return yield* new CliExit({ code: ExitCode.usage, message: checked.left })
      const result = yield* client.call("schedule", params)
      if (o.json) return yield* printJson(result)
      const made = yield* decode(Api.api.schedule.success, result)
      yield* Console.log(Render.schedules([made], yield* Clock.currentTimeMillis))
    }))).pipe(Command.withDescription("submit a task again and again, by --cron or --every (each occurrence once)"))

export const unschedule = Command.make("unschedule", { ...common, name: Args.text({ name: "name" }) }, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const { removed } = yield* decode(Api.api.unschedule.success, yield* client.call("unschedule", { name: o.name }))
      if (o.json) return yield* printJson({ removed })
      yield* Console.log(removed ? `unscheduled ${o.name}` : `no schedule named ${o.name}: nothing changed`)
    }))).pipe(Command.withDescription("remove a schedule (the tasks it submitted stay)"))

export const schedulesCommand = Command.make("schedules", common, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const result = yield* client.call("schedules", {})
      if (o.json) return yield* printJson(result)
      yield* Console.log(Render.schedules(yield* decode(Api.api.schedules.success, result), yield* Clock.currentTimeMillis))
    }))).pipe(Command.withDescription("list the schedules and their next occurrences"))

/** Every command that talks to a running server. */
