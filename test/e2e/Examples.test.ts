import { describe, expect, it } from "@effect/vitest"
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { eventually, serverForFile } from "../support/process.js"

// The examples run as a reader of the README runs them: the compiled program in a process of
// its own (npm test builds first), its output checked.

const dist = fileURLToPath(new URL("../../dist/examples/", import.meta.url))

const exec = (file: string, args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(file, args, { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
  })

const run = (script: string, args: ReadonlyArray<string>) => exec(process.execPath, [path.join(dist, script), ...args])

const python = fileURLToPath(new URL("../../examples/python/troupe_client.py", import.meta.url))

describe("examples", () => {
  it("wordCount: map tasks on worker threads, a reduce that reads their results", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-words-"))
    try {
      // 450 lines: three chunks of 200 lines (the last one 50), "alpha" 450 times, "beta" 150.
      const lines = Array.from({ length: 450 }, (_, i) => (i % 3 === 0 ? "alpha beta" : "alpha"))
      fs.writeFileSync(path.join(dir, "a.txt"), lines.join("\n"))
      const result = await run("wordCount/main.js", [path.join(dir, "a.txt")])
      expect(result.code).toBe(0)
      const out = result.stdout.split("\n")
      expect(out[0]).toBe(`600 words in 3 chunks of ${path.join(dir, "a.txt")}`)
      expect(out.slice(1, 3).map((l) => l.trim().split(/\s+/))).toStrictEqual([["450", "alpha"], ["150", "beta"]])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)

  it("services: a per-thread SQLite connection for thread handlers, the app's mailer for in-process ones", async () => {
    const result = await run("services/main.js", [])
    expect(result.code).toBe(0)
    const out = result.stdout.trim().split("\n")
    expect(out.map((l) => l.replace(/worker thread \d+/, "worker thread N"))).toStrictEqual([
      "o1: 3.70 (priced on worker thread N); mailed customer@example.test: order o1 is priced",
      "o2: 7.80 (priced on worker thread N); mailed customer@example.test: order o2 is priced",
      "o3: 11.50 (priced on worker thread N); mailed customer@example.test: order o3 is priced"
    ])
  }, 90_000)

  it("media: segments encoded by a program with their progress, then joined by a command task that depends on them all", async () => {
    const result = await run("media/main.js", ["3"])
    expect(result.code).toBe(0)
    const out = result.stdout.trim().split("\n")
    expect(out.filter((l) => l.endsWith(" encoded")).sort()).toStrictEqual(["segment 1/3 encoded", "segment 2/3 encoded", "segment 3/3 encoded"])
    expect(out.filter((l) => / {2}segment \d: 100%$/.test(l)).length).toBe(3)
    expect(out.slice(-2)).toStrictEqual([
      "joined 3 segments (273 bytes) into holiday.mp4, exit code 0",
      "concat log: concatenated 3 segments into <dir>/holiday.mp4"
    ])
  }, 90_000)

  it("wordCount without files says how to run it", async () => {
    const result = await run("wordCount/main.js", [])
    expect([result.code, result.stderr.trim()]).toStrictEqual([2, "usage: node dist/examples/wordCount/main.js FILE..."])
  })
})

describe("the Python client (standard library only) against a real server", () => {
  const server = serverForFile("troupe-python-")

  it("submits a task and waits for it: the id first, then its final status and result", async () => {
    const result = await exec("python3", [python, "--url", server.url, "submit", "talk", `{"lines": 2}`, "--priority", "5", "--wait"])
    expect(result.code).toBe(0)
    const out = result.stdout.trim().split("\n")
    expect(out[0]).toMatch(/^[0-9a-f]{12}-[0-9a-f]{16}$/)
    // The watch may open after the task ran (then it starts from the final snapshot).
    expect(out).toContain("status completed")
    expect(JSON.parse(out.at(-1)!)).toStrictEqual({ status: "completed", result: 2 })
    const got = await exec("python3", [python, "--url", server.url, "get", out[0]!])
    expect(JSON.parse(got.stdout)).toMatchObject({ id: out[0], type: "talk", status: "completed", result: 2, priority: 5 })
  }, 60_000)

  it("watches a running task: its status as it changes, its end and result", async () => {
    const gate = path.join(server.dir, "python-gate")
    const submitted = await exec("python3", [python, "--url", server.url, "submit", "gate", JSON.stringify({ file: gate })])
    const id = submitted.stdout.trim()
    const watcher = spawn("python3", [python, "--url", server.url, "watch", id], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    watcher.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => watcher.on("exit", resolve))
    try {
      // Running and waiting for its gate: the watcher has seen it.
      await eventually(async () => out, (o) => o.includes("status running"))
      fs.writeFileSync(gate, "open")
      expect(await exited).toBe(0)
    } finally {
      watcher.kill()
    }
    const lines = out.trim().split("\n")
    expect(lines.indexOf("status running")).toBeLessThan(lines.indexOf("status completed"))
    expect(JSON.parse(lines.at(-1)!)).toStrictEqual({ status: "completed", result: true })
  }, 60_000)

  it("a bad payload comes back as troupe's typed error, with what to change", async () => {
    const result = await exec("python3", [python, "--url", server.url, "submit", "echo", `{"n": "seven"}`])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("error: InvalidPayload: ")
    expect(result.stderr).toContain("payload.n")
  })
})
