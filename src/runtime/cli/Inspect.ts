import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Log } from "../../domain/Activity.js"
import * as TaskStatus from "../../domain/TaskStatus.js"
import * as Api from "../api/Api.js"
import { CliExit, ExitCode } from "./ExitCode.js"
import * as Board from "./Board.js"
import * as Live from "./Live.js"
import * as Screen from "./Screen.js"
import * as Render from "./Render.js"
import { common, decode, events, pauses, printJson, taskId, withClient } from "./Common.js"
import * as Help from "./Help.js"
import { repeatable } from "./repeatable.js"
import { waitFor } from "./Submit.js"

// Reading the queue: one task, a page of tasks, a task's logs, health, stats, live progress.

export const status = Command.make("status", { ...common, id: taskId }, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const result = yield* client.call("get", { id: o.id })
      if (o.json) return yield* printJson(result)
      const task = yield* decode(Api.api.get.success, result)
      yield* Console.log(Render.task(task, yield* Clock.currentTimeMillis, yield* pauses(client)))
    }))).pipe(Command.withDescription("show one task"))

export const list = Command.make("list", {
  ...common,
  status: repeatable(Options.text("status").pipe(Options.withDescription("only tasks in this status (repeatable)"))),
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
      const paused = yield* pauses(client)
      yield* Console.log(Render.tasks(tasks, yield* Clock.currentTimeMillis, paused))
      const last = (yield* decode(Schema.Array(Schema.Struct({ seq: Schema.Number })), result)).at(-1)
      if (tasks.length === o.limit && last !== undefined) yield* Console.log(`… more: ${o.oldest ? "--oldest --after" : "--before"} ${last.seq}`)
      const note = paused === undefined ? undefined : Render.pausedNote(paused)
      if (note !== undefined) yield* Console.log(Help.wrap(`paused: ${note}`, "  ", "").join("\n"))
    }))).pipe(Command.withDescription("list tasks, newest first (--oldest: oldest first), a page at a time"))

export const logs = Command.make("logs", {
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

export const health = Command.make("health", common, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const result = yield* client.call("health")
      const h = yield* decode(Api.api.health.success, result)
      yield* o.json ? printJson(result) : Console.log([h.level, ...h.reasons.map((r) => `  - ${r}`)].join("\n"))
      if (h.level !== "healthy") return yield* new CliExit({ code: healthCode[h.level], message: "" })
    }))).pipe(Command.withDescription("healthy, warning, critical or offline, with reasons (the exit code tells which)"))

const ms = (x: number | null) => (x === null ? "—" : Render.duration(x))

export const stats = Command.make("stats", common, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const result = yield* client.call("stats")
      if (o.json) return yield* printJson(result)
      const s = yield* decode(Api.api.stats.success, result)
      // One `running` (the store's count), each line within 80 columns.
      const row = (label: string, value: string) => Help.wrap(value, " ".repeat(12), label.padEnd(12))
      const lines = [
        ...row("tasks", Render.counts(s.counts.byStatus)),
        ...row("paused", Render.pausedNote(s.paused) ?? "nothing"),
        ...row("throughput", `${s.throughput.perSecond.toFixed(1)}/s over ${Render.duration(s.throughput.windowMs)}: ${s.throughput.completed} completed, ${s.throughput.failed} failed`),
        ...row("run time", `mean ${ms(s.runMs.mean)}, p50 ${ms(s.runMs.p50)}, p95 ${ms(s.runMs.p95)}, p99 ${ms(s.runMs.p99)}`),
        ...row("wait time", `mean ${ms(s.waitMs.mean)}, p50 ${ms(s.waitMs.p50)}, p95 ${ms(s.waitMs.p95)}, p99 ${ms(s.waitMs.p99)}`),
        ...row("health", `${s.health.level}${s.health.reasons.length > 0 ? ` (${s.health.reasons.join("; ")})` : ""}`)
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

export const watch = Command.make("watch", { ...common, id: Args.text({ name: "task-id" }).pipe(Args.optional) }, (o) =>
  withClient(o, (client) => {
    if (Option.isSome(o.id)) return waitFor(client, o.id.value, o.json)
    if (o.json) return Stream.runForEach(client.events("/events"), (e) => Console.log(JSON.stringify(e.data)))
    const counts = Effect.flatMap(client.call("counts"), (u) => decode(Schema.Record({ key: Schema.String, value: Schema.Number }), u))
    const running = Effect.flatMap(client.call("list", { status: ["running"], limit: Board.snapshotLimit }), (u) => decode(Api.api.list.success, u))
    return Live.view(events(client, "/events"), Board.snapshot(counts, running), { screen: Screen.stdout() })
  })).pipe(Command.withDescription("live progress bars of running tasks (one task: until it ends; --json: events as JSON lines)"))

