import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Inspectable from "effect/Inspectable"
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
  readonly rows?: number | undefined
}

/** Whether `out` gets the live region: a terminal that can move its cursor, colour not refused. */
export const isLive = (out: { readonly isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean =>
  out.isTTY === true && env.TERM !== "dumb" && (env.NO_COLOR === undefined || env.NO_COLOR === "")

const ESC = "\x1b["

/** A line without control characters (a task's "\r" or escape codes would move the cursor). */
export const clean = (line: string): string => line.replace(/\t/g, "  ").replace(/\p{Cc}/gu, " ")

// East Asian wide and fullwidth characters, and emoji shown as pictures: two cells each.
const wide = /[\p{Emoji_Presentation}\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]/u
const zero = /[\p{Mn}\p{Me}\u200b-\u200f]/u
/** Variation selector 16: the character before it is shown as a picture (two cells). */
const VS16 = "\ufe0f"

/** The line's code points, each with the cells it takes (0, 1 or 2). */
const measured = (line: string): Array<readonly [string, number]> => {
  const chars = [...line]
  return chars.map((c, i) => [c, chars[i + 1] === VS16 && !zero.test(c) ? 2 : zero.test(c) ? 0 : wide.test(c) ? 2 : 1] as const)
}

/** How many terminal cells `line` takes. */
export const cells = (line: string): number => measured(line).reduce((n, [, w]) => n + w, 0)

/** `line` without control characters, cut to `columns` cells and the cut marked with "…". */
export const fit = (line: string, columns: number): string => {
  if (columns <= 0) return ""
  const text = clean(line)
  if (cells(text) <= columns) return text
  let used = 0
  let kept = ""
  for (const [c, w] of measured(text)) {
    if (used + w > columns - 1) break
    used += w
    kept += c
  }
  return `${kept}…`
}

const known = (n: number | undefined, otherwise: number) => (n !== undefined && n >= 2 ? n : otherwise)

export class Screen {
  private shown: ReadonlyArray<string> = []

  constructor(
    private readonly out: Output,
    /** false: plain lines only (pipes, CI logs, NO_COLOR, TERM=dumb); the region is never drawn. */
    readonly live: boolean
  ) {}

  /**
   * Usable width: one column short of the terminal's, so a full line never wraps (80 columns
   * when unknown: some pseudo-terminals report 0).
   */
  get columns(): number {
    return known(this.out.columns, 80) - 1
  }

  /** Most lines the region may take: one short of the terminal's height, so it never scrolls. */
  get rows(): number {
    return known(this.out.rows, 24) - 1
  }

  private erase(): string {
    return this.shown.length === 0 ? "" : `\r${ESC}${this.shown.length}A${ESC}J`
  }

  private draw(lines: ReadonlyArray<string>): string {
    return lines.map((l) => `${l}\n`).join("")
  }

  /** Permanent lines, printed above the region (which is drawn again below them). */
  print(lines: string | ReadonlyArray<string>): void {
    // Plain output is passed on as it is (it matches `troupe logs`); on a live terminal a
    // control character could move the cursor off what the erase expects.
    const given = typeof lines === "string" ? [lines] : lines
    const text = this.live ? given.flatMap((l) => l.split(/\r?\n/)).map(clean) : given
    if (text.length === 0) return
    this.out.write(`${this.erase()}${this.draw(text)}${this.draw(this.shown)}`)
  }

  /**
   * Sets the region's lines, cut to the width and the height (the erase moves the cursor up by
   * as many lines as were drawn: a line that wrapped or scrolled off would leave a stale one).
   * Nothing is written when they did not change.
   */
  region(lines: ReadonlyArray<string>): void {
    if (!this.live) return
    const next = lines.slice(0, this.rows).map((l) => fit(l, this.columns))
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

/** A log message's parts as text: strings as they are, an Error by its message. */
const text = (message: unknown): string =>
  (Array.isArray(message) ? message : [message]).map((m) =>
    typeof m === "string" ? m : m instanceof Error ? (m.message === "" ? m.name : `${m.name}: ${m.message}`) : Inspectable.toStringUnknown(m, 0)).join(" ")

/**
 * Effect's log lines printed above the region of `screen`, for a person: the time, the level,
 * the message and the first line of a failure, wrapped to the width.
 */
export const logger = (screen: Screen): Logger.Logger<unknown, void> =>
  Logger.make(({ cause, date, logLevel, message }) => {
    const head = `${date.toISOString().slice(11, 19)} ${logLevel.label.padEnd(5)} `
    let line: string
    try {
      const failure = Cause.isEmpty(cause) ? "" : `: ${Cause.pretty(cause).split("\n")[0]}`
      line = `${text(message)}${failure}`
    } catch {
      line = "(a log line that could not be shown)"
    }
    screen.print(wrap(line, " ".repeat(head.length), head, screen.columns))
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
