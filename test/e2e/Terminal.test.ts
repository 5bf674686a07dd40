import { afterAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { cli, operateHandlers, serverForFile } from "../support/process.js"
import { troupe } from "../support/pty.js"
import type { Terminal } from "../support/pty.js"

// What a person sees in a terminal (80×24, a real pseudo-terminal under tmux): the live view of
// `troupe start --progress`, `submit --wait`, the plain lines without a live terminal, and help.

const workload = fileURLToPath(new URL("../../dist/test/fixtures/terminalWorkload.js", import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-terminal-"))
const opened: Array<Terminal> = []
const open = (...args: Parameters<typeof troupe>) => {
  const t = troupe(...args)
  opened.push(t)
  return t
}
afterAll(() => {
  for (const t of opened) t.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** The live region: from its `queue` line to the end of the screen. */
const region = (lines: ReadonlyArray<string>) => {
  const at = lines.map((l) => l.startsWith("queue  ")).lastIndexOf(true)
  return at < 0 ? [] : lines.slice(at)
}
const runningIn = (header: string | undefined) => Number(/running (\d+)/.exec(header ?? "")?.[1] ?? "0")
const barsIn = (r: ReadonlyArray<string>) => r.filter((l) => /^ {2}\S+ +\S+ {2}\[[#.]+\] +\d+%/.test(l))

describe("the terminal", () => {
  it("troupe start --progress: logs above the live region, one bar per running task, nothing stale, nothing wrapped", async () => {
    const gates = path.join(dir, "gates")
    fs.mkdirSync(gates)
    const t = open(
      ["start", "--port", "0", "--handlers", operateHandlers, "--database", path.join(dir, "start.db"), "--num-workers", "2", "--workload", workload, "--progress"],
      { env: { TROUPE_TEST_GATES: gates } }
    )
    // Two gates run (two threads), the third waits; the workload's warning is in the log.
    // (The pending count comes with the first snapshot, a second after the view opens.)
    let seen = await t.until((lines) =>
      runningIn(region(lines)[0]) === 2 && /pending 1/.test(region(lines)[0] ?? "") && lines.some((l) => l.includes("three gates submitted")))
    const banner = seen.slice(0, seen.findIndex((l) => l.startsWith("Ctrl-C stops")) + 1)
    expect(banner[0]).toMatch(/^troupe \S+ listening on http:\/\/127\.0\.0\.1:\d+$/)
    expect(banner.join("\n")).toMatch(/store +\S+start\.db: new and empty/)
    expect(banner.join("\n")).toMatch(/workers +2\n/)
    let r = region(seen)
    expect(r[0]).toMatch(/^queue {2}.*pending 1/)
    expect(barsIn(r)).toHaveLength(2)
    expect(barsIn(r).every((l) => l.includes("gate"))).toBe(true)
    // The log line is above the region, printed once, whole.
    const warning = seen.findIndex((l) => l.includes("three gates submitted"))
    expect(seen[warning]).toMatch(/^\d\d:\d\d:\d\d WARN +three gates submitted$/)
    expect(warning).toBeLessThan(seen.length - r.length)
    // No frame left behind: one header on the whole screen and its scrollback.
    expect(seen.filter((l) => l.startsWith("queue  "))).toHaveLength(1)
    expect(seen.filter((l) => l.startsWith("ended  "))).toHaveLength(1)

    // The gates open one by one: bars leave as their tasks end, the count follows.
    fs.writeFileSync(path.join(gates, "gate-1"), "")
    seen = await t.until((lines) => /ended {2}1 completed/.test(region(lines)[1] ?? "") && runningIn(region(lines)[0]) === 2)
    r = region(seen)
    expect(barsIn(r)).toHaveLength(2)
    expect(r.join("\n")).not.toContain("gate-1")
    fs.writeFileSync(path.join(gates, "gate-2"), "")
    fs.writeFileSync(path.join(gates, "gate-3"), "")
    seen = await t.until((lines) => /ended {2}3 completed/.test(region(lines)[1] ?? "") && runningIn(region(lines)[0]) === 0)
    r = region(seen)
    expect(barsIn(r)).toHaveLength(0)
    expect(r).toHaveLength(2)
    expect(seen.filter((l) => l.startsWith("queue  "))).toHaveLength(1)

    // Ctrl-C: the stop is said above where the region was; the process ends.
    t.keys("C-c")
    const ended = await t.exited()
    expect(ended.code).toBe(0)
    expect(ended.lines.join("\n")).toContain("SIGINT: stopping")
    expect(ended.lines.filter((l) => l.startsWith("queue  "))).toHaveLength(0)
  }, 120_000)

  describe("against a server", () => {
    const server = serverForFile("troupe-terminal-server-")

    it("submit --wait prints the id first, the status, the log lines, a bar below them while it runs, and ends with the final description; the same order without a terminal", async () => {
      const file = path.join(dir, "submitted-gate")
      const t = open(["submit", "gate", JSON.stringify({ file }), "--wait", "--url", server.url])
      // The task may be heard of as pending first (not yet claimed when the stream opened).
      const shown = (lines: ReadonlyArray<string>) => lines.filter((l) => l !== "" && !/^\S+ pending$/.test(l))
      const running = shown(await t.until((lines) => lines.at(-1)?.includes("running") === true && lines.some((l) => l.includes("waiting for"))))
      const id = running[0]!
      expect(running).toEqual([id, `${id} running`, `#1    1 info  waiting for ${file}`, expect.stringMatching(new RegExp(`^${id} {2}\\[\\.+\\] +0% {2}running$`))])
      fs.writeFileSync(file, "")
      const ended = await t.exited()
      expect(ended.code).toBe(0)
      const lines = shown(ended.lines)
      expect(lines.slice(0, 4)).toEqual([id, `${id} running`, `#1    1 info  waiting for ${file}`, `${id} completed`])
      // Then the final state; no bar left over.
      expect(lines.slice(4).join("\n")).toMatch(/status +completed/)
      expect(lines.filter((l) => l.includes("[") && !l.startsWith("progress"))).toEqual([])

      // Without a terminal: the same lines in the same order.
      // Its gate opens once it is seen running, as above.
      const pipedFile = path.join(dir, "submitted-gate-piped")
      const piped = await cli(server.url, ["submit", "gate", JSON.stringify({ file: pipedFile }), "--wait"], {}, (out) => {
        if (/ running\n/.test(out) && out.includes("waiting for")) fs.writeFileSync(pipedFile, "")
      })
      const plain = shown(piped.stdout.trimEnd().split("\n"))
      const pid = plain[0]!
      expect(plain.slice(0, 4)).toEqual(lines.slice(0, 4).map((l) => l.replaceAll(id, pid).replaceAll(file, pipedFile)))
    }, 60_000)

    it("submit --wait ends with the task's last progress description", async () => {
      const t = open(["submit", "talk", `{"lines": 3}`, "--wait", "--url", server.url])
      const ended = await t.exited()
      expect(ended.code).toBe(0)
      expect(ended.lines.join("\n")).toMatch(/progress +\[#+\] 100% line 3/)
    }, 60_000)

    it("watch with NO_COLOR or TERM=dumb prints plain lines: no region is drawn", async () => {
      for (const env of [{ NO_COLOR: "1" }, { TERM: "dumb" }]) {
        const t = open(["watch", "--url", server.url], { env })
        const seen = await t.until((lines) => lines.some((l) => l.startsWith("queue  ") && l.includes(" · ended  ")))
        expect(seen.some((l) => l.startsWith("ended  "))).toBe(false)
        t.close()
      }
    }, 60_000)
  })

  it("help fits 80 columns and shows optional flags as optional", async () => {
    for (const args of [["--help"], ["submit", "--help"], ["start", "--help"], ["list", "--help"], ["schedule", "--help"]]) {
      const ran = await cli("http://127.0.0.1:1", args)
      expect(ran.code).toBe(0)
      const long = ran.stdout.split("\n").filter((l) => l.length > 80)
      expect(long).toEqual([])
    }
    const submit = await cli("http://127.0.0.1:1", ["submit", "--help"])
    expect(submit.stdout).toContain("[--depends-on text...]")
    expect(submit.stdout).toContain("[--priority text]")
    const overview = await cli("http://127.0.0.1:1", ["--help"])
    expect(overview.stdout).toMatch(/^ {2}submit +submit a task/m)
    // An unknown command is refused in a few short lines, not the whole list on one.
    const unknown = await cli("http://127.0.0.1:1", ["sumbit", "echo"])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.trimEnd().split("\n")).toEqual(["troupe: unknown command 'sumbit': did you mean 'submit'?", "troupe: `troupe --help` lists the commands"])
  })
})
