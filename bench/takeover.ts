/**
 * Crash takeover: two processes on one SQLite file (test/fixtures/recoveryRunner, poll interval
 * 100 ms, leases of 10 minutes), every task held at a gate; the one holding tasks is SIGKILLed
 * and the survivor's log says when it recovered them (domain/LeaseOwner: the owner's process is
 * gone). Beside it, in the same run, the only path there was before: lease expiry, here the
 * 10-minute lease. Prints figures and the machine; asserts nothing.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describeMachine, median } from "./machine.js"

const runner = fileURLToPath(new URL("../test/fixtures/recoveryRunner.js", import.meta.url))
const ROUNDS = 5
const LEASE_MS = 10 * 60_000

interface Runner {
  readonly child: ChildProcess
  /** stdout lines with the time each arrived. */
  readonly lines: Array<readonly [number, string]>
}

const start = (args: ReadonlyArray<string>, ready: (line: string) => boolean) =>
  new Promise<Runner>((resolve, reject) => {
    const child = spawn(process.execPath, [runner, ...args], { stdio: ["ignore", "pipe", "ignore"] })
    const lines: Array<readonly [number, string]> = []
    let buffer = ""
    let done = false
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      const parts = buffer.split("\n")
      buffer = parts.pop()!
      for (const line of parts) {
        lines.push([Date.now(), line])
        if (!done && ready(line)) {
          done = true
          resolve({ child, lines })
        }
      }
    })
    child.once("exit", (code) => { if (!done) reject(new Error(`runner exited (${code})`)) })
  })

const until = (probe: () => boolean) =>
  new Promise<void>((resolve) => {
    const timer = setInterval(() => { if (probe()) { clearInterval(timer); resolve() } }, 5)
  })

/** One round: ms from the SIGKILL to the survivor's recovery of what the killed process held. */
const round = async (): Promise<number> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-takeover-"))
  const [db, log, gate] = [path.join(dir, "tasks.db"), path.join(dir, "runs.log"), path.join(dir, "gate")]
  const first = await start(["submit", db, log, "20", gate], (l) => l === "SUBMITTED")
  // The gate is shut: the first process's tasks start (they log their id) and wait there.
  await until(() => fs.existsSync(log) && fs.readFileSync(log, "utf8").length > 0)
  const second = await start(["resume", db, log, "20"], (l) => l === "RESUMING")
  const killed = Date.now()
  first.child.kill("SIGKILL")
  await until(() => second.lines.some(([, l]) => l.includes("left running by a process that is gone")))
  const [at] = second.lines.find(([, l]) => l.includes("left running by a process that is gone"))!
  fs.writeFileSync(gate, "open")
  await until(() => second.lines.some(([, l]) => l.startsWith("DONE ")))
  await new Promise((resolve) => { second.child.once("exit", resolve); second.child.kill("SIGTERM") })
  fs.rmSync(dir, { recursive: true, force: true })
  return at - killed
}

export const run = async () => {
  console.log(`\n## Crash takeover (two processes on one SQLite file, one SIGKILLed holding tasks; ${ROUNDS} rounds)`)
  console.log(describeMachine())
  const times: Array<number> = []
  for (let i = 0; i < ROUNDS; i++) times.push(await round())
  console.log(`owner gone, recovered by the survivor  ${median(times).toFixed(0).padStart(8)} ms median  (runs: ${times.join(", ")}; poll interval 100 ms)`)
  console.log(`lease expiry (the path before)          ${LEASE_MS.toFixed(0).padStart(8)} ms (the lease these runs hold; 30,000 ms by default), plus up to a sweep`)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run()
