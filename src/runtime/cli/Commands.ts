import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Log } from "../../domain/Activity.js"
import * as TaskStatus from "../../domain/TaskStatus.js"
import * as Client from "../client/Http.js"
import * as JsonRpc from "../api/JsonRpc.js"
import * as Api from "../api/Api.js"
import * as Token from "../api/Token.js"
import { CliExit, ExitCode, fromClientError } from "./ExitCode.js"
import * as Live from "./Live.js"
import * as Render from "./Render.js"
import { splitCommand } from "./splitCommand.js"

// The client commands: each is one or two calls to the server's API (JSON-RPC, Server-Sent
// Events), printed as a human table or, with --json, as JSON for scripts.

const common = {
  url: Options.text("url").pipe(
    Options.withFallbackConfig(Config.string("TROUPE_URL").pipe(Config.withDefault("http://127.0.0.1:7420"))),
    Options.withDescription("address of the troupe server (env TROUPE_URL; default http://127.0.0.1:7420)")
  ),
  token: Options.redacted("token").pipe(
    Options.optional,
    Options.withDescription("bearer token, when the server has one (env TROUPE_TOKEN)")
  ),
  json: Options.boolean("json").pipe(Options.withDescription("print JSON for scripts instead of tables"))
}

interface Common {
  readonly url: string
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly json: boolean
}

/** Runs a command body against the server; client failures become their documented exit code. */
const withClient = <A, E extends Client.ClientError | Client.RemoteError | CliExit>(
  c: Common,
  body: (client: Client.Client["Type"]) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    // A blank token is no token here too: no empty Authorization header is sent.
    const { token } = yield* Token.fromFlagOrEnv(c.token)
    const client = yield* Effect.provide(Client.Client, Client.layer({ url: c.url, token }))
    return yield* body(client)
  }).pipe(Effect.mapError((e) => (e._tag === "CliExit" ? e : fromClientError(e))))

const decode = <A, I>(schema: Schema.Schema<A, I>, u: unknown) =>
  Effect.mapError(Schema.decodeUnknown(schema)(u), (e) => new CliExit({ code: ExitCode.error, message: `unexpected answer: ${e.message}` }))

const printJson = (u: unknown) => Console.log(JSON.stringify(u, null, 2))

const taskId = Args.text({ name: "task-id" }).pipe(Args.withDescription("the task's id"))

// ---- submit ---------------------------------------------------------------------------------

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
  idempotencyKey: Options.text("idempotency-key").pipe(Options.optional),
  dependsOn: Options.text("depends-on").pipe(Options.withDescription("a task that must complete first (repeatable)"), Options.repeated),
  command: Options.text("command").pipe(
    Options.withDescription(`run a program as a "command" task (argv split like a shell, no shell features; the server needs --allow-commands)`),
    Options.optional
  ),
  cwd: Options.text("cwd").pipe(Options.withDescription("working directory of --command"), Options.optional),
  env: Options.keyValueMap("env").pipe(Options.withDescription("environment of --command (KEY=VALUE, repeatable)"), Options.optional),
  wait: Options.boolean("wait").pipe(Options.withDescription("show the task's progress until it ends; the exit code tells how it ended"))
}

/** A payload argument as JSON ({} when absent). */
const payloadOf = (text: Option.Option<string>) =>
  Option.match(text, {
    onNone: () => Effect.succeed<unknown>({}),
    onSome: (json) =>
      Effect.try({
        try: (): unknown => JSON.parse(json),
        catch: (e) => new CliExit({ code: ExitCode.usage, message: `payload is not valid JSON: ${e instanceof Error ? e.message : String(e)}` })
      })
  })

const parsePriority = (p: string): string | number => (/^-?\d+$/.test(p) ? Number(p) : p)

const durationParam = (d: string): string | number => (/^\d+(\.\d+)?$/.test(d) ? Number(d) : d)

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

const events = (client: Client.Client["Type"], path: string) =>
  client.events(path).pipe(
    Stream.map((e) => e.data),
    Stream.filterMap(Schema.decodeUnknownOption(Live.EventView))
  )

/** Follows a task to its end; exits with the code of its final status. */
const waitFor = (client: Client.Client["Type"], id: string, json: boolean) =>
  Effect.gen(function*() {
    const backlog = Effect.flatMap(client.call("logs", { id }), (lines) => decode(Api.api.logs.success, lines))
    const status = yield* Live.follow(events(client, `/events?task=${encodeURIComponent(id)}`), { tty: !json && Live.isTty(), id, backlog })
    const task = yield* Effect.flatMap(client.call("get", { id }), (u) => decode(Api.api.get.success, u))
    const now = yield* Clock.currentTimeMillis
    yield* json ? printJson(task) : Console.log(Render.task(task, now))
    const code = finalCode(status ?? task.status)
    if (code !== ExitCode.ok) return yield* new CliExit({ code, message: "" })
  })

const submit = Command.make("submit", submitOptions, (o) =>
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

// ---- status, list ---------------------------------------------------------------------------

const status = Command.make("status", { ...common, id: taskId }, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const result = yield* client.call("get", { id: o.id })
      if (o.json) return yield* printJson(result)
      const task = yield* decode(Api.api.get.success, result)
      yield* Console.log(Render.task(task, yield* Clock.currentTimeMillis))
    }))).pipe(Command.withDescription("show one task"))

const list = Command.make("list", {
  ...common,
  status: Options.text("status").pipe(Options.withDescription("only tasks in this status (repeatable)"), Options.repeated),
  type: Options.text("type").pipe(Options.withDescription("only tasks of this type"), Options.optional),
  active: Options.boolean("active").pipe(Options.withDescription("only unfinished tasks (waiting, running, paused)")),
  oldest: Options.boolean("oldest").pipe(Options.withDescription("oldest first (default: newest first)")),
  limit: Options.integer("limit").pipe(Options.withDefault(50), Options.withDescription("at most this many (1–1000)")),
  after: Options.integer("after").pipe(Options.withDescription("with --oldest: the page after this sequence number"), Options.optional),
  before: Options.integer("before").pipe(Options.withDescription("the page before this sequence number"), Options.optional)
}, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      if (o.active && o.status.length > 0) {
        return yield* new CliExit({ code: ExitCode.usage, message: "give --active or --status, not both" })
      }
      const status = o.active ? TaskStatus.all.filter((s) => !TaskStatus.isFinal(s)) : o.status
      const result = yield* client.call("list", {
        limit: o.limit,
        ...(status.length === 0 ? {} : { status }),
        ...Option.match(o.type, { onNone: () => ({}), onSome: (type) => ({ type }) }),
        ...(o.oldest ? {} : { newestFirst: true }),
        ...Option.match(o.after, { onNone: () => ({}), onSome: (afterSeq) => ({ afterSeq }) }),
        ...Option.match(o.before, { onNone: () => ({}), onSome: (beforeSeq) => ({ beforeSeq }) })
      })
      if (o.json) return yield* printJson(result)
      const tasks = yield* decode(Api.api.list.success, result)
      yield* Console.log(Render.tasks(tasks, yield* Clock.currentTimeMillis))
      const last = (yield* decode(Schema.Array(Schema.Struct({ seq: Schema.Number })), result)).at(-1)
      if (tasks.length === o.limit && last !== undefined) yield* Console.log(`… more: ${o.oldest ? "--oldest --after" : "--before"} ${last.seq}`)
    }))).pipe(Command.withDescription("list tasks, newest first (--oldest: oldest first), a page at a time"))

// ---- control --------------------------------------------------------------------------------

const done = (json: boolean, what: string) => (json ? printJson({ ok: true }) : Console.log(what))

const cancel = Command.make("cancel", { ...common, id: taskId }, (o) =>
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

const pauseOrResume = (verb: "pause" | "resume", description: string) =>
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

const retry = Command.make("retry", { ...common, id: taskId }, (o) =>
  withClient(o, (client) => Effect.zipRight(client.call("retry", { id: o.id }), done(o.json, `retrying ${o.id}`))))
  .pipe(Command.withDescription("run a failed or cancelled task again with a fresh attempt budget"))

const remove = Command.make("delete", {
  ...common,
  id: taskId,
  force: Options.boolean("force").pipe(Options.withDescription("cancel an unfinished task first"))
}, (o) =>
  withClient(o, (client) => Effect.zipRight(client.call("delete", { id: o.id, force: o.force }), done(o.json, `deleted ${o.id}`))))
  .pipe(Command.withDescription("delete a finished task and its logs"))

// ---- logs, watch, health, stats -------------------------------------------------------------

const logs = Command.make("logs", {
  ...common,
  id: taskId,
  follow: Options.boolean("follow").pipe(Options.withAlias("f"), Options.withDescription("keep printing new lines until the task ends"))
}, (o) =>
  withClient(o, (client) => {
    const print = (line: unknown) =>
      o.json ? Console.log(JSON.stringify(line)) : Effect.flatMap(decode(Log, line), (l) => Console.log(Render.logLine(l)))
    if (o.follow) {
      return Stream.runForEach(client.events(`/logs?id=${encodeURIComponent(o.id)}&follow=true`), (e) => print(e.data))
    }
    return Effect.flatMap(client.call("logs", { id: o.id }), (lines) =>
      Effect.forEach(Array.isArray(lines) ? lines : [], print, { discard: true }))
  })).pipe(Command.withDescription("print a task's log lines (--json: one JSON object per line)"))

const healthCode = { healthy: ExitCode.ok, warning: ExitCode.healthWarning, critical: ExitCode.healthCritical, offline: ExitCode.healthOffline } as const

const health = Command.make("health", common, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const result = yield* client.call("health")
      const h = yield* decode(Api.api.health.success, result)
      yield* o.json ? printJson(result) : Console.log([h.level, ...h.reasons.map((r) => `  - ${r}`)].join("\n"))
      if (h.level !== "healthy") return yield* new CliExit({ code: healthCode[h.level], message: "" })
    }))).pipe(Command.withDescription("healthy, warning, critical or offline, with reasons (the exit code tells which)"))

const ms = (x: number | null) => (x === null ? "—" : Render.duration(x))

const stats = Command.make("stats", common, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const result = yield* client.call("stats")
      if (o.json) return yield* printJson(result)
      const s = yield* decode(Api.api.stats.success, result)
      const lines = [
        `tasks       ${Render.counts(s.counts.byStatus)}`,
        `running     ${s.running}${s.paused.queue ? " (queue paused)" : ""}${s.paused.types.length > 0 ? ` (paused types: ${s.paused.types.join(", ")})` : ""}`,
        `throughput  ${s.throughput.perSecond.toFixed(1)}/s over ${Render.duration(s.throughput.windowMs)}: ${s.throughput.completed} completed, ${s.throughput.failed} failed`,
        `run time    mean ${ms(s.runMs.mean)}, p50 ${ms(s.runMs.p50)}, p95 ${ms(s.runMs.p95)}, p99 ${ms(s.runMs.p99)}`,
        `wait time   mean ${ms(s.waitMs.mean)}, p50 ${ms(s.waitMs.p50)}, p95 ${ms(s.waitMs.p95)}, p99 ${ms(s.waitMs.p99)}`,
        `health      ${s.health.level}${s.health.reasons.length > 0 ? ` (${s.health.reasons.join("; ")})` : ""}`
      ]
      yield* Console.log(lines.join("\n"))
      // Rate limits spending their allowance (tasks over them wait): how much is left, and when more.
      if (s.rateLimits.length > 0) {
        yield* Console.log(Render.table(
          ["RATE LIMIT", "LIMIT", "AVAILABLE", "NEXT START"],
          s.rateLimits.map((r) => [
            r.bucket, `${r.limit} per ${Render.duration(r.perMs)}`, String(r.available),
            r.opensAt <= s.at ? "now" : `in ${Render.duration(r.opensAt - s.at)}`
          ])
        ))
      }
      if (s.workers.length > 0) {
        yield* Console.log(Render.table(
          ["WORKER", "STATE", "DONE", "FAILED", "HEAP", "UP"],
          s.workers.map((w) => [
            `#${w.slot}`, w.state, String(w.tasksDone), String(w.failures),
            w.heapUsedMb === null ? "?" : `${w.heapUsedMb.toFixed(0)} MiB`, Render.duration(w.uptimeMs)
          ])
        ))
      }
      // Nodes sharing the store: shown when there is more than this one (or one is dead).
      if (s.nodes.length > 1 || s.nodes.some((n) => !n.alive)) {
        yield* Console.log(Render.table(
          ["NODE", "HOST", "PID", "STATE", "RUNNING", "RATE", "THREADS", "MEMORY", "SEEN"],
          s.nodes.map((n) => [
            n.id.split(":").pop() ?? n.id, n.host, String(n.pid), n.alive ? (n.leader ? "leader" : "alive") : "dead",
            String(n.running), `${n.perSecond.toFixed(1)}/s`, String(n.workers.length),
            n.memory === null ? "?" : `${(n.memory.usedShare * 100).toFixed(0)}%${n.memory.underPressure ? " pressure" : ""}`,
            Render.ago(n.seenAt, s.at)
          ])
        ))
      }
    }))).pipe(Command.withDescription("counts, throughput, run and wait times, rate limits, workers, nodes"))

const watch = Command.make("watch", { ...common, id: Args.text({ name: "task-id" }).pipe(Args.optional) }, (o) =>
  withClient(o, (client) => {
    if (Option.isSome(o.id)) return waitFor(client, o.id.value, o.json)
    if (o.json) return Stream.runForEach(client.events("/events"), (e) => Console.log(JSON.stringify(e.data)))
    const counts = Effect.flatMap(client.call("counts"), (u) => decode(Schema.Record({ key: Schema.String, value: Schema.Number }), u))
    return Live.view(events(client, "/events"), counts, { tty: Live.isTty() })
  })).pipe(Command.withDescription("live progress bars of running tasks (one task: until it ends; --json: events as JSON lines)"))

// ---- schedules ------------------------------------------------------------------------------

const schedule = Command.make("schedule", {
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

const unschedule = Command.make("unschedule", { ...common, name: Args.text({ name: "name" }) }, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const { removed } = yield* decode(Api.api.unschedule.success, yield* client.call("unschedule", { name: o.name }))
      if (o.json) return yield* printJson({ removed })
      yield* Console.log(removed ? `unscheduled ${o.name}` : `no schedule named ${o.name}: nothing changed`)
    }))).pipe(Command.withDescription("remove a schedule (the tasks it submitted stay)"))

const schedulesCommand = Command.make("schedules", common, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const result = yield* client.call("schedules", {})
      if (o.json) return yield* printJson(result)
      yield* Console.log(Render.schedules(yield* decode(Api.api.schedules.success, result), yield* Clock.currentTimeMillis))
    }))).pipe(Command.withDescription("list the schedules and their next occurrences"))

/** Every command that talks to a running server. */
export const all = [
  submit, status, list, cancel,
  pauseOrResume("pause", "pause a waiting task, a task type (--type) or the whole queue (--queue)"),
  pauseOrResume("resume", "undo pause"),
  retry, remove, logs, health, stats, watch,
  schedule, unschedule, schedulesCommand
] as const
