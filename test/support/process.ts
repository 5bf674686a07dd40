import { afterAll, beforeAll } from "@effect/vitest"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// Real processes for the operate tests: the `troupe` executable (compiled), as a server and as
// the CLI. Waits are on process events and output, never on fixed sleeps.

export const bin = fileURLToPath(new URL("../../dist/src/runtime/bin.js", import.meta.url))
export const operateHandlers = fileURLToPath(new URL("../../dist/test/fixtures/operateHandlers.js", import.meta.url))
export const recoveryHandlers = fileURLToPath(new URL("../../dist/test/fixtures/recoveryHandlers.js", import.meta.url))
export const threadHandlers = fileURLToPath(new URL("../../dist/test/fixtures/handlers.js", import.meta.url))

export interface Server {
  readonly url: string
  readonly process: ChildProcess
  /** Everything the server printed so far (stdout and stderr). */
  readonly output: () => string
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>
}

/**
 * Starts `troupe start` on a free loopback port (or `port`); resolves once it has printed its
 * banner. `wrap`: a command it runs under (its arguments before node's).
 */
export const startServer = (args: ReadonlyArray<string>, env: Record<string, string> = {}, port = 0, wrap: ReadonlyArray<string> = []): Promise<Server> =>
  new Promise((resolve, reject) => {
    const command = [...wrap, process.execPath, bin, "start", "--port", String(port), ...args]
    const child = spawn(command[0]!, command.slice(1), {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    const exited = new Promise<number | string>((done) => child.on("exit", (code, signal) => done(code ?? signal ?? "?")))
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      // The banner's last line: everything it says has been printed.
      if (m !== null && out.includes("Ctrl-C stops")) resolve({ url: m[1]!, process: child, output: () => out, exited })
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", (chunk: Buffer) => { out += chunk.toString() })
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)))
  })

/**
 * One `troupe start` (the operate handlers, 2 threads, a database of its own) for a whole test
 * file: started before its tests, stopped and its directory removed after them.
 */
export const serverForFile = (prefix: string, env: Record<string, string> = {}) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  let started: Server | undefined
  beforeAll(async () => {
    started = await startServer(["--handlers", operateHandlers, "--database", path.join(dir, "q.db"), "--num-workers", "2"], env)
  }, 60_000)
  afterAll(async () => {
    started?.process.kill("SIGTERM")
    if (started !== undefined) await started.exited
    fs.rmSync(dir, { recursive: true, force: true })
  }, 60_000)
  return {
    dir,
    get url(): string {
      if (started === undefined) throw new Error("the server has not started")
      return started.url
    }
  }
}

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI once against a server and collects its output and exit code. */
export const cli = (url: string, args: ReadonlyArray<string>, env: Record<string, string> = {}, onStdout?: (stdout: string) => void): Promise<Ran> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args, "--url", url], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString()
      onStdout?.(stdout)
    })
    child.stderr.on("data", (c: Buffer) => { stderr += c.toString() })
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })

/** One JSON-RPC call over HTTP (for probing state from a test; the CLI has its own client). */
export const rpc = async (url: string, method: string, params?: unknown): Promise<{ result?: unknown; error?: { code: number; message: string } }> => {
  const res = await fetch(`${url}/rpc`, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) })
  return await res.json() as { result?: unknown; error?: { code: number; message: string } }
}

/**
 * Polls until `check` holds, for states another process reaches: a poll every 10 ms, given up
 * after `tries` (a bound, not a timing assertion).
 */
export const eventually = async <A>(probe: () => Promise<A>, check: (a: A) => boolean, tries = 1500): Promise<A> => {
  let last = await probe()
  for (let i = 0; i < tries && !check(last); i++) {
    await new Promise((r) => setTimeout(r, 10))
    last = await probe()
  }
  if (!check(last)) throw new Error(`condition not reached; last: ${JSON.stringify(last)}`)
  return last
}

/** Whether a process runs (or is stopped): not gone, and not a zombie nobody reaps (Linux /proc). */
export const alive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z"
  } catch {
    return false
  }
}
