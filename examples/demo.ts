/**
 * The one-shot demo (`npm run demo`): runs troupe on ./troupe.db with the example handlers, submits a
 * realistic mixed workload, shows progress while it runs and prints a summary.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import { fileURLToPath } from "node:url"
import * as os from "node:os"
import { Troupe } from "../src/index.js"
import type { TaskId } from "../src/domain/TaskId.js"
import type { Task } from "../src/domain/Task.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import * as TaskStatus from "../src/domain/TaskStatus.js"
import { AlwaysBroken, Analyze, FetchPage, FlakyUpload, Report, Thumbnail, Transcode } from "./tasks.js"
import { items } from "./workload.js"

const handlersModule = fileURLToPath(new URL("./handlers.js", import.meta.url))
const database = process.env["TROUPE_DATABASE"] ?? "./troupe.db"


const bar = (done: number, total: number, width = 30) => {
  const filled = Math.round((done / total) * width)
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`
}

const summarize = (tasks: ReadonlyArray<Task>, elapsedMs: number) =>
  Effect.gen(function*() {
    const byStatus = new Map<string, number>()
    for (const t of tasks) byStatus.set(t.status, (byStatus.get(t.status) ?? 0) + 1)
    yield* Console.log("\nSummary")
    yield* Console.log(`  tasks      ${tasks.length} in ${(elapsedMs / 1000).toFixed(2)} s → ${(tasks.length / (elapsedMs / 1000)).toFixed(0)} tasks/s`)
    yield* Console.log(`  by status  ${TaskStatus.all.filter((s) => byStatus.has(s)).map((s) => `${s} ${byStatus.get(s)}`).join(", ")}`)
    const waits = new Map<number, Array<number>>()
    for (const t of tasks) {
      if (t.status !== "completed" || t.attempt !== 1 || t.startedAt === null) continue
      const list = waits.get(t.priority) ?? []
      list.push(t.startedAt - t.createdAt)
      waits.set(t.priority, list)
    }
    yield* Console.log("  mean wait (submit → start, first attempts) by priority:")
    for (const [priority, list] of [...waits].sort((a, b) => b[0] - a[0])) {
      const mean = list.reduce((a, b) => a + b, 0) / list.length
      yield* Console.log(`    priority ${String(priority).padStart(3)}  ${mean.toFixed(0).padStart(6)} ms  (${list.length} tasks)`)
    }
    const broken = tasks.filter((t) => t.status === "failed")
    for (const t of broken) {
      yield* Console.log(`  failed ${t.type} ${t.id}: ${t.errors.length} attempts, last: ${t.errors.at(-1)?.error.message ?? "?"}`)
    }
    const retried = tasks.filter((t) => t.status === "completed" && t.errors.length > 0)
    yield* Console.log(`  ${retried.length} task(s) completed after retries`)
  })

const program = Effect.gen(function*() {
  const queue = yield* TaskQueue
  yield* Console.log(`troupe demo — store ${database}, ${os.availableParallelism()} worker thread(s)`)
  const started = yield* Clock.currentTimeMillis
  const ids: ReadonlyArray<TaskId> = yield* queue.submitMany(items(started.toString(36), { transcodes: 0 }))
  yield* Console.log(`submitted ${ids.length} tasks (durable before this line)`)

  const fetchAll = Effect.forEach(ids, (id) => queue.get(id), { concurrency: 16 })
  const progress = Effect.gen(function*() {
    const tasks = yield* fetchAll
    const final = tasks.filter((t) => TaskStatus.isFinal(t.status)).length
    const running = tasks.filter((t) => t.status === "running").length
    const retrying = tasks.filter((t) => t.status === "retrying").length
    const line = `${bar(final, ids.length)} ${final}/${ids.length} done, ${running} running, ${retrying} retrying`
    yield* Console.log(line)
    return final
  })
  const ticker = yield* Effect.fork(Effect.repeat(progress, Schedule.spaced("500 millis")))
  yield* Effect.forEach(ids, (id) =>
    Effect.flatMap(queue.get(id), (t) => {
      switch (t.type) {
        case Thumbnail.name:
          return Effect.ignore(queue.await(Thumbnail, id))
        case Analyze.name:
          return Effect.ignore(queue.await(Analyze, id))
        case FetchPage.name:
          return Effect.ignore(queue.await(FetchPage, id))
        case FlakyUpload.name:
          return Effect.ignore(queue.await(FlakyUpload, id))
        case Report.name:
          return Effect.ignore(queue.await(Report, id))
        case Transcode.name:
          return Effect.ignore(queue.await(Transcode, id))
        default:
          return Effect.ignore(queue.await(AlwaysBroken, id))
      }
    }), { concurrency: "unbounded", discard: true })
  yield* Fiber.interrupt(ticker)
  yield* progress
  const elapsed = (yield* Clock.currentTimeMillis) - started
  yield* summarize(yield* fetchAll, elapsed)
  const stats = yield* queue.stats
  const ms = (x: number | null) => (x === null ? "—" : `${x.toFixed(0)} ms`)
  yield* Console.log(`  run time   mean ${ms(stats.runMs.mean)}, p95 ${ms(stats.runMs.p95)}; wait mean ${ms(stats.waitMs.mean)}, p95 ${ms(stats.waitMs.p95)}`)
  yield* Console.log(`  workers    ${stats.workers.map((w) => `#${w.slot}: ${w.tasksDone} done, heap ${w.heapUsedMb?.toFixed(0) ?? "?"} MiB`).join("; ")}`)
  const health = yield* queue.health
  yield* Console.log(`  health     ${health.level}${health.reasons.length > 0 ? ` (${health.reasons.join("; ")})` : ""}`)
})

program.pipe(
  Effect.provide(Troupe.layer({ database, handlersModule })),
  NodeRuntime.runMain
)
