import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"
import { wrap } from "./Help.js"

// The terminal as the CLI draws on it: permanent lines (logs, status changes) scroll above a
// live region of a few lines at the bottom, redrawn in place. Every write to stdout while a
// region is shown goes through here — the region's height is known only to this object — so
// a line printed by anyone else cannot be half-erased by the next frame. Each change is one
// write (erase, lines, region), so the terminal never shows a half-drawn frame.

/** Where a screen writes: process.stdout, or a test's buffer. */
export interface Output {
  readonly write: (s: string) => unknown
  readonly columns?: number | undefined
}

/** Whether `out` gets the live region: a terminal that can move its cursor, colour not refused. */
export const isLive = (out: { readonly isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean =>
  out.isTTY === true && env.TERM !== "dumb" && (env.NO_COLOR === undefined || env.NO_COLOR === "")

const ESC = "\x1b["

/** Cuts `line` to `columns` characters (counted as code points), marking the cut with "…". */
export const fit = (line: string, columns: number): string => {
  const chars = [...line]
  return chars.length <= columns ? line : `${chars.slice(0, Math.max(0, columns - 1)).join("")}…`
}

export class Screen {
  private shown: ReadonlyArray<string> = []

  constructor(
    private readonly out: Output,
    /** false: plain lines only (pipes, CI logs, NO_COLOR, TERM=dumb); the region is never drawn. */
    readonly live: boolean
  ) {}

  /** Usable width: one column short of the terminal's, so a full line never wraps. */
  get columns(): number {
    return Math.max(20, (this.out.columns ?? 80) - 1)
  }

  private erase(): string {
    return this.shown.length === 0 ? "" : `\r${ESC}${this.shown.length}A${ESC}J`
  }

  private draw(lines: ReadonlyArray<string>): string {
    return lines.map((l) => `${l}\n`).join("")
  }

  /** Permanent lines, printed above the region (which is drawn again below them). */
  print(lines: string | ReadonlyArray<string>): void {
    const text = typeof lines === "string" ? [lines] : lines
    if (text.length === 0) return
    this.out.write(`${this.erase()}${this.draw(text)}${this.draw(this.shown)}`)
  }

  /** Sets the region's lines (cut to the width); nothing is written when they did not change. */
  region(lines: ReadonlyArray<string>): void {
    if (!this.live) return
    const next = lines.map((l) => fit(l, this.columns))
    if (next.length === this.shown.length && next.every((l, i) => l === this.shown[i])) return
    const erase = this.erase()
    this.shown = next
    this.out.write(`${erase}${this.draw(next)}`)
  }

  /** Removes the region from the screen (permanent lines stay). */
  clear(): void {
    this.region([])
  }
}

/** A screen on this process's stdout, live when stdout is a terminal that allows it. */
export const stdout = (): Screen => new Screen(process.stdout, isLive())

const text = (message: unknown): string =>
  (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : JSON.stringify(m) ?? String(m))).join(" ")

/**
 * Effect's log lines printed above the region of `screen`, for a person: the time, the level,
 * the message and the first line of a failure, wrapped to the width.
 */
export const logger = (screen: Screen): Logger.Logger<unknown, void> =>
  Logger.make(({ cause, date, logLevel, message }) => {
    const failure = Cause.isEmpty(cause) ? "" : `: ${Cause.pretty(cause).split("\n")[0]}`
    const head = `${date.toISOString().slice(11, 19)} ${logLevel.label.padEnd(5)} `
    screen.print(wrap(`${text(message)}${failure}`, " ".repeat(head.length), head, screen.columns))
  })

/**
 * Runs `effect` with its log lines printed through `screen` instead of by the console loggers
 * (Effect's default one, and the pretty one NodeRuntime.runMain installs); other loggers stay.
 */
export const routeLogs = (screen: Screen) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(effect, FiberRef.currentLoggers, (loggers) =>
    loggers.pipe(HashSet.remove(Logger.defaultLogger), HashSet.remove(Logger.prettyLoggerDefault), HashSet.add(logger(screen))))

/** Sync access as Effects, for code that draws from fibers. */
export const print = (screen: Screen, lines: string | ReadonlyArray<string>) => Effect.sync(() => screen.print(lines))
export const region = (screen: Screen, lines: ReadonlyArray<string>) => Effect.sync(() => screen.region(lines))
