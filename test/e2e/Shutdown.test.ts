import { afterAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { alive, eventually, operateHandlers, rpc, startServer } from "../support/process.js"

// Graceful shutdown of `troupe start` (SIGINT/SIGTERM): it stops claiming, lets running tasks
// finish up to --shutdown-timeout, then interrupts them and gives them back to the queue
// (the interrupted attempt is not counted). A second signal exits at once. Either way, after a
// restart every acknowledged task reaches a final state.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-shutdown-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

interface TaskJson {
  readonly id: string
  readonly status: string
  readonly attempt: number
}

const submit = async (url: string, type: string, payload: unknown): Promise<string> => {
  const r = await rpc(url, "submit", { type, payload })
  if (r.error !== undefined) throw new Error(r.error.message)
  return (r.result as { id: string }).id
}

const get = async (url: string, id: string): Promise<TaskJson> => (await rpc(url, "get", { id })).result as TaskJson

const all = (url: string, ids: ReadonlyArray<string>) => Promise.all(ids.map((id) => get(url, id)))

/** Submits gate tasks (run until the file exists) and quick echoes, and waits until gates run. */
const workload = async (url: string, gate: string, gates: number, echoes: number) => {
  const gateIds: Array<string> = []
  for (let i = 0; i < gates; i++) gateIds.push(await submit(url, "gate", { file: gate }))
  const echoIds: Array<string> = []
  for (let i = 0; i < echoes; i++) echoIds.push(await submit(url, "echo", { n: i }))
  await eventually(() => all(url, gateIds), (ts) => ts.filter((t) => t.status === "running").length >= Math.min(gates, 2))
  return { gateIds, echoIds, ids: [...gateIds, ...echoIds] }
}

const args = (db: string, extra: ReadonlyArray<string> = []) => ["--handlers", operateHandlers, "--database", db, "--num-workers", "2", ...extra]

describe("graceful shutdown", () => {
  it("SIGTERM: running tasks finish within the timeout; nothing is lost across the restart", async () => {
    const db = path.join(dir, "finish.db")
    const gate = path.join(dir, "finish.gate")
    const first = await startServer(args(db, ["--shutdown-timeout", "60 seconds"]))
    const { ids } = await workload(first.url, gate, 2, 5)
    first.process.kill("SIGTERM")
    await eventually(async () => first.output(), (out) => out.includes("SIGTERM: stopping"))
    fs.writeFileSync(gate, "open")
    expect(await first.exited).toBe(0)

    const second = await startServer(args(db))
    const final = await eventually(() => all(second.url, ids), (ts) => ts.every((t) => t.status === "completed"))
    expect(final.every((t) => t.attempt === 1)).toBe(true)
    second.process.kill("SIGTERM")
    expect(await second.exited).toBe(0)
  }, 120_000)

  it("SIGTERM past the timeout: running tasks are interrupted and requeued, not counted as attempts", async () => {
    const db = path.join(dir, "requeue.db")
    const gate = path.join(dir, "requeue.gate")
    const first = await startServer(args(db, ["--shutdown-timeout", "200 millis"]))
    const { gateIds, ids } = await workload(first.url, gate, 3, 5)
    first.process.kill("SIGTERM")
    expect(await first.exited).toBe(0)
    // Claimed attempts (two running on the threads, more queued behind them) go back to the queue.
    const released = /released (\d+) unfinished attempt\(s\) for the next start/.exec(first.output())
    expect(Number(released?.[1])).toBeGreaterThanOrEqual(2)

    const second = await startServer(args(db))
    // Its banner says what it found: at least the three gates, given back to the queue (their
    // gate opens only now, so none can have finished before it counted).
    expect(second.output().replace(/\s+/g, " ")).toMatch(/ store .*requeue\.db: resuming ([3-9]|\d\d+) unfinished tasks \(\d+ finished kept\)/)
    fs.writeFileSync(gate, "open")
    const final = await eventually(() => all(second.url, ids), (ts) => ts.every((t) => t.status === "completed"))
    // The interrupted attempt was given back uncounted: each gate completed on attempt 1.
    expect(final.filter((t) => gateIds.includes(t.id)).map((t) => t.attempt)).toEqual([1, 1, 1])
    second.process.kill("SIGTERM")
    expect(await second.exited).toBe(0)
  }, 120_000)

  it("a second signal exits at once; the tasks still run to the end after a restart", async () => {
    const db = path.join(dir, "twice.db")
    const gate = path.join(dir, "twice.gate")
    // A lease far longer than the test: the restart runs the tasks at once because the
    // process that held them is gone.
    const env = { TROUPE_LEASE_DURATION: "10 minutes" }
    const first = await startServer(args(db), env)
    const { ids } = await workload(first.url, gate, 2, 5)
    first.process.kill("SIGTERM")
    await eventually(async () => first.output(), (out) => out.includes("SIGTERM: stopping"))
    first.process.kill("SIGTERM")
    expect(await first.exited).toBe(130)

    fs.writeFileSync(gate, "open")
    const second = await startServer(args(db), env)
    const final = await eventually(() => all(second.url, ids), (ts) => ts.every((t) => t.status === "completed"))
    expect(final).toHaveLength(7)
    expect(second.output()).toMatch(/recovered [1-9]\d* task\(s\) left running by a process that is gone/)
    second.process.kill("SIGTERM")
    expect(await second.exited).toBe(0)
  }, 120_000)

  it("a second signal also ends the programs of running command tasks (they do not outlive the server)", async () => {
    const db = path.join(dir, "commands.db")
    const pids = path.join(dir, "command.pids")
    const server = await startServer(args(db, ["--allow-commands"]))
    await submit(server.url, "command", { argv: ["sh", "-c", `echo $$ > ${pids}; sleep 300 & echo $! >> ${pids}; wait`] })
    const running = await eventually(
      async () => (fs.existsSync(pids) ? fs.readFileSync(pids, "utf8").trim().split("\n").map(Number) : []),
      (ps) => ps.length === 2
    )
    server.process.kill("SIGTERM")
    await eventually(async () => server.output(), (out) => out.includes("SIGTERM: stopping"))
    server.process.kill("SIGTERM")
    expect(await server.exited).toBe(130)
    await eventually(async () => running.filter(alive), (left) => left.length === 0)
  }, 60_000)
})

