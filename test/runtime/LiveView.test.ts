import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type { TaskEvent } from "../../src/domain/TaskEvent.js"
import * as TaskId from "../../src/domain/TaskId.js"
import * as Board from "../../src/runtime/cli/Board.js"
import * as Follow from "../../src/runtime/cli/Follow.js"
import * as Live from "../../src/runtime/cli/Live.js"
import { fit, Screen } from "../../src/runtime/cli/Screen.js"
import { VirtualTerminal } from "../support/terminal.js"

// The terminal view as a person sees it: what the CLI writes is played on a small terminal
// emulator (test/support/terminal.ts) and the resulting screen is asserted.

const running = (id: string, type = "transcode"): TaskEvent => ({ _tag: "StatusChanged", id: TaskId.unsafeMake(id), type, status: "running", at: 0 })
const status = (id: string, s: "completed" | "failed" | "retrying" | "pending" | "cancelled", type = "transcode"): TaskEvent =>
  ({ _tag: "StatusChanged", id: TaskId.unsafeMake(id), type, status: s, at: 1 })
const progress = (id: string, percent: number, description: string | null = null): TaskEvent =>
  ({ _tag: "Progress", taskId: id, attempt: 1, percent, description, at: 0 })
const log = (id: string, n: number): TaskEvent =>
  ({ _tag: "Log", taskId: id, attempt: 1, n, level: "info", message: `line ${n}`, at: 0 })

/** The bars on a frame: its lines after the two header lines. */
const bars = (lines: ReadonlyArray<string>) => lines.slice(2)
const runningCount = (lines: ReadonlyArray<string>) => Number(/running (\d+)/.exec(lines[0] ?? "")?.[1] ?? "0")

describe("Screen", () => {
  it("prints lines above its region and redraws the region in place, leaving nothing stale", () => {
    const term = new VirtualTerminal(40)
    const screen = new Screen(term, true)
    screen.region(["header 1", "  bar a", "  bar b"])
    screen.print("WARN something happened")
    screen.region(["header 2", "  bar a"])
    screen.print(["INFO one", "INFO two"])
    expect(term.screen).toEqual(["WARN something happened", "INFO one", "INFO two", "header 2", "  bar a"])
    screen.clear()
    expect(term.screen).toEqual(["WARN something happened", "INFO one", "INFO two"])
  })

  it("cuts region lines to the width, so none wraps", () => {
    const term = new VirtualTerminal(30)
    const screen = new Screen({ write: term.write, columns: 30 }, true)
    screen.region(["x".repeat(50), "short"])
    screen.region(["y".repeat(50), "short"])
    expect(term.screen).toEqual([`${"y".repeat(28)}…`, "short"])
    expect(fit("abc", 3)).toBe("abc")
  })

  it("counts wide characters as two cells and shows no control characters, so the erase stays exact", () => {
    const term = new VirtualTerminal(20)
    const screen = new Screen({ write: term.write, columns: 20 }, true)
    expect(fit("写真を変換しています", 11)).toBe("写真を変換…")
    expect(fit("done ✅🚀❤️ ok", 10)).toBe("done ✅🚀…")
    expect(fit("anything", 0)).toBe("")
    screen.region(["写真を変換しています写真を変換しています", "tab\there\rand \x1b[2Jescape"])
    screen.print("a log\rline")
    screen.region(["header"])
    expect(term.screen).toEqual(["a log line", "header"])
  })

  it("never draws a region taller than the terminal: the cursor could not go back up over it", () => {
    const term = new VirtualTerminal(40)
    const screen = new Screen({ write: term.write, columns: 40, rows: 4 }, true)
    screen.region(["1", "2", "3", "4", "5", "6"])
    expect(term.screen).toEqual(["1", "2", "3"])
    screen.region(["header"])
    expect(term.screen).toEqual(["header"])
  })

  it("without a live terminal prints plain lines and never draws a region", () => {
    const written: Array<string> = []
    const screen = new Screen({ write: (s) => written.push(s) }, false)
    screen.region(["header"])
    screen.print("a line")
    // Passed on as it is (it matches `troupe logs`).
    screen.print("a\ttabbed line")
    expect(written.join("")).toBe("a line\na\ttabbed line\n")
  })
})

describe("Board", () => {
  it("shows a bar per running task; the header's running count is the number of bars", () => {
    const board = new Board.Board()
    for (const e of [running("a"), running("b", "thumb"), progress("a", 50, "segment 10/20"), status("b", "failed", "thumb")]) board.apply(e)
    board.counts = { pending: 4, running: 5, failed: 1 }
    const lines = Board.frame(board, 79)
    expect(lines[0]).toBe("queue  pending 4, running 1, failed 1")
    expect(lines[1]).toBe("ended  0 completed, 1 failed, 0 cancelled since this view opened")
    expect(bars(lines)).toEqual(["  transcode a  [######......]  50%  segment 10/20"])
  })

  it("prints failures, retries (recoveries) and requeues as permanent lines", () => {
    const board = new Board.Board()
    board.apply(running("a"))
    board.apply(running("b"))
    expect(board.apply(status("a", "retrying"))).toEqual(["retrying  transcode a"])
    expect(board.apply(status("b", "pending"))).toEqual(["requeued  transcode b"])
    expect(board.apply(status("c", "pending"))).toEqual([])
    expect(board.bars.size).toBe(0)
  })

  it("a snapshot removes bars of tasks no longer running and adds those running unheard of; later events win", () => {
    const board = new Board.Board()
    board.apply(running("gone"))
    board.apply(running("stays"))
    const since = board.mark()
    // Heard after the snapshot was asked for: kept even though the snapshot misses it.
    board.apply(running("new"))
    // Ended after the snapshot was asked for: not brought back by it.
    board.apply(running("ended"))
    board.apply(status("ended", "completed"))
    board.reconcile({
      counts: { running: 3 },
      running: [
        { id: "stays", type: "transcode", progress: 40, description: "half" },
        { id: "before", type: "thumb", progress: 10, description: null },
        { id: "ended", type: "transcode", progress: 90, description: null }
      ],
      complete: true
    }, since)
    expect([...board.bars.keys()].sort()).toEqual(["before", "new", "stays"])
    expect(board.bars.get("stays")).toMatchObject({ percent: 40, description: "half" })
    const lines = Board.frame(board, 79)
    expect(runningCount(lines)).toBe(bars(lines).length)
  })

  it("a snapshot never takes a bar's progress back to the stored value, which trails the events", () => {
    const board = new Board.Board()
    board.apply(running("a"))
    board.apply(progress("a", 60, "segment 12/20"))
    board.reconcile({ counts: {}, running: [{ id: "a", type: "transcode", progress: 40, description: "segment 8/20" }], complete: true }, board.mark())
    expect(board.bars.get("a")).toMatchObject({ percent: 60, description: "segment 12/20" })
    // A task the view heard no report of takes the stored one; its late `running` keeps it.
    board.reconcile({ counts: {}, running: [{ id: "b", type: "transcode", progress: 30, description: "warm" }], complete: false }, board.mark())
    board.apply(running("b"))
    expect(board.bars.get("b")).toMatchObject({ percent: 30, description: "warm" })
    // A `running` for a bar that heard reports is a new attempt (the previous one's end was lost).
    board.apply(running("a"))
    expect(board.bars.get("a")).toMatchObject({ percent: 0, description: null })
  })

  it("a snapshot cut at its limit removes nothing", () => {
    const board = new Board.Board()
    board.apply(running("a"))
    board.reconcile({ counts: {}, running: [], complete: false }, board.mark())
    expect(board.bars.size).toBe(1)
  })

  it("fits 80 columns whatever the type, id and description", () => {
    const board = new Board.Board()
    board.apply(running("0193b7d2-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "a-rather-long-task-type-name"))
    board.apply(progress("0193b7d2-1a2b-7c3d-8e4f-5a6b7c8d9e0f", 33, "a description that goes on and on and on and on"))
    for (const line of Board.frame(board, 79)) expect(line.length).toBeLessThanOrEqual(79)
  })
})

describe("Live.view", () => {
  it.scoped("keeps its region at the bottom: log lines above it, bars equal to the running count, none stale", () =>
    Effect.gen(function*() {
      const term = new VirtualTerminal(80)
      const screen = new Screen({ write: term.write, columns: 80 }, true)
      const events = yield* Queue.unbounded<TaskEvent>()
      let serverRunning: Array<string> = []
      const snapshot = Effect.sync((): Board.Snapshot => ({
        counts: { running: serverRunning.length, pending: 2 },
        running: serverRunning.map((id) => ({ id, type: "transcode", progress: 0, description: null })),
        complete: true
      }))
      const fiber = yield* Effect.fork(Live.view(Stream.fromQueue(events), snapshot, { screen }))
      yield* Queue.offerAll(events, [running("a"), running("b"), running("c")])
      serverRunning = ["a", "b", "c"]
      yield* TestClock.adjust("1 second")
      screen.print("level=WARN message=\"a log line\"")
      // b ended while the connection dropped its event: the next snapshot takes its bar away.
      serverRunning = ["a", "c"]
      yield* Queue.offer(events, status("c", "failed"))
      serverRunning = ["a"]
      yield* TestClock.adjust("1 second")
      const seen = term.screen
      expect(seen[0]).toBe("level=WARN message=\"a log line\"")
      expect(seen[1]).toBe("failed    transcode c")
      expect(seen.slice(2)).toEqual([
        "queue  running 1, pending 2",
        "ended  0 completed, 1 failed, 0 cancelled since this view opened",
        "  transcode a  [............]   0%"
      ])
      yield* Fiber.interrupt(fiber)
      // Interrupted (Ctrl-C): the region is taken away; the lines above it stay.
      expect(term.screen).toEqual(seen.slice(0, 2))
    }))
})

describe("Follow.follow", () => {
  const backlog = Effect.succeed([1, 2].map((n) => ({ attempt: 1, n, level: "info" as const, message: `line ${n}` })))
  const stream = Stream.fromIterable<TaskEvent>([running("a", "command"), log("a", 2), progress("a", 50, "half"), log("a", 3), status("a", "completed", "command")])

  it.effect("prints the status, then stored lines, then live ones, each once; the same order with or without a terminal", () =>
    Effect.gen(function*() {
      const plain: Array<string> = []
      const result = yield* Follow.follow(stream, { screen: new Screen({ write: (s) => plain.push(s) }, false), id: "a", backlog })
      expect(result).toBe("completed")
      expect(plain.join("").trimEnd().split("\n")).toEqual([
        "a running", "#1    1 info  line 1", "#1    2 info  line 2", "a 50% half", "#1    3 info  line 3", "a completed"
      ])
      const term = new VirtualTerminal(80)
      yield* Follow.follow(stream, { screen: new Screen({ write: term.write, columns: 80 }, true), id: "a", backlog })
      // The bar is gone once the task ended; the progress lines are the only difference.
      expect(term.screen).toEqual(plain.join("").trimEnd().split("\n").filter((l) => l !== "a 50% half"))
    }))

  it.effect("a task that had already ended when followed: its stored lines, then its final status", () =>
    Effect.gen(function*() {
      const plain: Array<string> = []
      const ended = Stream.make<Array<TaskEvent>>(status("a", "completed", "command"))
      const result = yield* Follow.follow(ended, { screen: new Screen({ write: (s) => plain.push(s) }, false), id: "a", backlog })
      expect(result).toBe("completed")
      expect(plain.join("").trimEnd().split("\n")).toEqual(["#1    1 info  line 1", "#1    2 info  line 2", "a completed"])
    }))
})
