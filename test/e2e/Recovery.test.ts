import { describe, expect, it } from "@effect/vitest"
import Database from "better-sqlite3"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as LeaseOwner from "../../src/domain/LeaseOwner.js"
import { freshDatabase } from "../support/postgres.js"

// Runs against the compiled runner (npm test builds first): real processes, real threads,
// a real SQLite file.
const runner = fileURLToPath(new URL("../../dist/test/fixtures/recoveryRunner.js", import.meta.url))

interface Started {
  readonly child: ChildProcess
  /** The line that matched. */
  readonly line: string
  /** Every stdout line so far, and the next ones as they come. */
  readonly lines: ReadonlyArray<string>
}

/** Spawns the runner and resolves when a stdout line matches. */
const startUntil = (args: ReadonlyArray<string>, match: (line: string) => boolean) =>
  Effect.async<Started, Error>((resume) => {
    const child = spawn(process.execPath, [runner, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    const seen: Array<string> = []
    let buffer = ""
    let stderr = ""
    let done = false
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split("\n")
      buffer = lines.pop()!
      for (const line of lines) {
        seen.push(line)
        if (!done && match(line)) {
          done = true
          resume(Effect.succeed({ child, line, lines: seen }))
        }
      }
    })
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("exit", (code, signal) => {
      if (!done) {
        done = true
        resume(Effect.fail(new Error(`runner exited (${code ?? signal}) before the expected line:\n${stderr}`)))
      }
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Probes every 20 ms until `done` holds, and returns it. */
const poll = <A>(probe: () => A, done: (a: A) => boolean) =>
  Effect.repeat(Effect.sync(probe), Schedule.recurUntil(done).pipe(Schedule.addDelay(() => "20 millis")))

/** The first stdout line of a started runner that matches; fails if the runner exits first. */
const lineOf = (started: Started, match: (line: string) => boolean) =>
  poll(
    () => ({ line: started.lines.find(match), exited: started.child.exitCode !== null || started.child.signalCode !== null }),
    (s) => s.line !== undefined || s.exited
  ).pipe(Effect.flatMap((s) =>
    s.line !== undefined ? Effect.succeed(s.line) : Effect.fail(new Error(`runner exited without the expected line:\n${started.lines.join("\n")}`))))

/** How many tasks the process with this pid holds running. */
const runningOf = (database: string, pid: number) => {
  const db = new Database(database, { readonly: true })
  try {
    const owners = db.prepare("SELECT lease_owner AS owner FROM tasks WHERE status = 'running'").all() as Array<{ owner: string }>
    return owners.filter((r) => Option.exists(LeaseOwner.parse(r.owner), (o) => o.pid === pid)).length
  } finally {
    db.close()
  }
}

/** Every execution the Step handler recorded: the task and the process that ran it. */
const runsIn = (log: string) =>
  fs.readFileSync(log, "utf8").trim().split("\n").map((line) => {
    const [id, pid] = line.split(" ")
    return { id: id!, pid: Number(pid) }
  })

const waitExit = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
  })

/**
 * Two processes on one store: the first submits tasks that wait at a gate and is SIGKILLed
 * while it holds some running; the second takes them over (its owner is gone), and every task
 * runs to completion, each once.
 */
const survivorTakesOver = (dir: string, database: string, runningOf: (pid: number) => Effect.Effect<number>) =>
  Effect.gen(function*() {
    const log = path.join(dir, "runs.log")
    const gate = path.join(dir, "gate")
    const total = 20

    // Every task waits at the gate: the first process holds some, running, when it is killed.
    const first = yield* startUntil(["submit", database, log, String(total), gate], (l) => l === "SUBMITTED")
    yield* Effect.repeat(runningOf(first.child.pid!), Schedule.recurUntil((n: number) => n > 0).pipe(Schedule.addDelay(() => "20 millis")))
    const second = yield* startUntil(["resume", database, log, String(total)], (l) => l === "RESUMING")
    first.child.kill("SIGKILL")
    yield* waitExit(first.child)

    // Leases last 10 minutes: the survivor takes them over only by seeing that the owner is gone.
    const pid = first.child.pid!
    const taken = yield* lineOf(second, (l) => l.includes("left running by a process that is gone"))
    expect(taken).toMatch(new RegExp(`recovered [1-9][0-9]* task\\(s\\) .*:${pid}:`))
    fs.writeFileSync(gate, "open")
    const done = yield* lineOf(second, (l) => l.startsWith("DONE "))
    second.child.kill("SIGTERM")
    yield* waitExit(second.child)
    expect((JSON.parse(done.slice(5)) as Record<string, number>)["completed"]).toBe(total)
    expect(new Set(runsIn(log).map((r) => r.id)).size).toBe(total)
  })

describe("crash recovery", () => {
  it.live("a process killed with SIGKILL mid-run loses nothing: a new process finishes every task", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-recovery-"))
      const database = path.join(dir, "tasks.db")
      const log = path.join(dir, "runs.log")
      const total = 300

      const first = yield* startUntil(["submit", database, log, String(total)], (l) => l.startsWith("COMPLETED 40"))
      first.child.kill("SIGKILL")
      yield* waitExit(first.child)

      const db = new Database(database, { readonly: true })
      const inFlight = (db.prepare("SELECT count(*) AS n FROM tasks WHERE status = 'running'").get() as { n: number }).n
      const before = (db.prepare("SELECT count(*) AS n FROM tasks").get() as { n: number }).n
      db.close()
      expect(before).toBe(total)
      expect(inFlight).toBeGreaterThan(0)

      const second = yield* startUntil(["resume", database, log, String(total)], (l) => l.startsWith("DONE "))
      const counts = JSON.parse(second.line.slice(5)) as Record<string, number>
      second.child.kill("SIGTERM")
      yield* waitExit(second.child)

      expect(counts["completed"]).toBe(total)
      const perTask = new Map<string, number>()
      for (const { id } of runsIn(log)) perTask.set(id, (perTask.get(id) ?? 0) + 1)
      const ranTwice = [...perTask.values()].filter((n) => n > 1).length
      expect(perTask.size).toBe(total)
      // At-least-once: only the attempts in flight at the kill may have run again.
      expect(ranTwice).toBeLessThanOrEqual(inFlight)
      console.log(`crash recovery: ${total} tasks, ${inFlight} in flight at SIGKILL, ${ranTwice} ran twice`)
      fs.rmSync(dir, { recursive: true, force: true })
    }), 60_000)

  it.live("a process killed while another runs on the same file: the survivor takes over what it left running", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-recovery-"))
      const database = path.join(dir, "tasks.db")
      yield* survivorTakesOver(dir, database, (pid) => Effect.sync(() => runningOf(database, pid)))
      fs.rmSync(dir, { recursive: true, force: true })
    }), 60_000)

  it.live("the same on PostgreSQL: two processes on one database, one killed, the other takes over", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-recovery-"))
      const url = yield* freshDatabase
      const sql = Context.get(yield* Layer.build(PgClient.layer({ url, maxConnections: 1 })), PgClient.PgClient)
      const running = (pid: number) =>
        Effect.map(Effect.orDie(sql.unsafe<{ readonly owner: string }>("SELECT lease_owner AS owner FROM tasks WHERE status = 'running'")), (rows) =>
          rows.filter((r) => Option.exists(LeaseOwner.parse(r.owner), (o) => o.pid === pid)).length)
      yield* survivorTakesOver(dir, Redacted.value(url), running)
      fs.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.scoped), 60_000)

  it.live("three processes on one PostgreSQL database share the work, and every task runs exactly once", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-nodes-"))
      const database = Redacted.value(yield* freshDatabase)
      const log = path.join(dir, "runs.log")
      const total = 300
      const first = yield* startUntil(["submit", database, log, String(total)], (l) => l === "SUBMITTED")
      const others = yield* Effect.all([1, 2].map(() => startUntil(["resume", database, log, String(total)], (l) => l === "RESUMING")))
      const done = yield* Effect.all(others.map((o) => lineOf(o, (l) => l.startsWith("DONE "))))
      for (const p of [first, ...others]) p.child.kill("SIGTERM")
      yield* Effect.forEach([first, ...others], (p) => waitExit(p.child), { discard: true })
      for (const line of done) expect((JSON.parse(line.slice(5)) as Record<string, number>)["completed"]).toBe(total)
      const runs = runsIn(log)
      expect(runs.length).toBe(total)
      expect(new Set(runs.map((r) => r.id)).size).toBe(total)
      const byProcess = new Map<number, number>()
      for (const { pid } of runs) byProcess.set(pid, (byProcess.get(pid) ?? 0) + 1)
      expect(byProcess.size).toBeGreaterThan(1)
      console.log(`three nodes: ${total} tasks, each once; by process: ${[...byProcess.values()].join(" / ")}`)
      fs.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.scoped), 90_000)

  it.live("a task that kills its process on every attempt ends failed after maxAttempts; the server comes back and runs the rest", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-recovery-"))
      const database = path.join(dir, "tasks.db")
      const log = path.join(dir, "runs.log")
      const total = 10
      // Restart the process each time it dies, as a supervisor would, up to 6 times.
      let starts = 0
      let done: string | undefined
      while (done === undefined && starts < 6) {
        starts++
        const run = yield* Effect.either(startUntil(["crashloop", database, log, String(total)], (l) => l.startsWith("DONE ")))
        if (run._tag === "Right") {
          done = run.right.line
          run.right.child.kill("SIGTERM")
          yield* waitExit(run.right.child)
        }
      }
      // Two attempts, each killed its process; the third start finds it failed and runs the rest.
      expect(starts).toBe(3)
      const counts = JSON.parse(done!.slice(5)) as Record<string, number>
      expect([counts["completed"], counts["failed"]]).toStrictEqual([total, 1])
      const db = new Database(database, { readonly: true })
      const crash = db.prepare("SELECT status, attempt, errors FROM tasks WHERE id = 'crash'").get() as { status: string; attempt: number; errors: string }
      db.close()
      const errors = JSON.parse(crash.errors) as Array<{ attempt: number; error: { _tag: string; reason: string } }>
      expect([crash.status, crash.attempt]).toStrictEqual(["failed", 2])
      expect(errors.map((e) => [e.attempt, e.error._tag, e.error.reason])).toStrictEqual([
        [1, "AttemptLost", "ownerGone"],
        [2, "AttemptLost", "ownerGone"]
      ])
      fs.rmSync(dir, { recursive: true, force: true })
    }), 120_000)
})
