import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// The examples run as a reader of the README runs them: the compiled program in a process of
// its own (npm test builds first), its output checked.

const dist = fileURLToPath(new URL("../../dist/examples/", import.meta.url))

const run = (script: string, args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(process.execPath, [path.join(dist, script), ...args], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
  })

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

  it("wordCount without files says how to run it", async () => {
    const result = await run("wordCount/main.js", [])
    expect([result.code, result.stderr.trim()]).toStrictEqual([2, "usage: node dist/examples/wordCount/main.js FILE..."])
  })
})
