import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { TaskEvent } from "../../domain/TaskEvent.js"
import * as Render from "./Render.js"

// Live progress in a terminal: `troupe watch`, `submit --wait` and `start --progress`. On a TTY
// the view is redrawn in place a few times a second; elsewhere (pipes, CI logs) it prints a line
// per change worth keeping and a summary line every few seconds.

/** Task events as they arrive over the API: the in-process TaskEvent, by its own Schema. */
export const EventView = TaskEvent
export type EventView = TaskEvent

/** Writes to stdout without a newline (the documented bridge for terminal drawing). */
export const write = (s: string) => Effect.sync(() => void process.stdout.write(s))
export const isTty = (): boolean => process.stdout.isTTY === true

interface Running {
  readonly type: string
  percent: number
  description: string | null
}

/** What the view knows: running tasks and what ended since it opened. */
export class State {
  readonly running = new Map<string, Running>()
  readonly ended = { completed: 0, failed: 0, cancelled: 0 }
  readonly notes: Array<string> = []

  apply(e: EventView): void {
    switch (e._tag) {
      case "StatusChanged": {
        if (e.status === "running") this.running.set(e.id, { type: e.type, percent: 0, description: null })
        else this.running.delete(e.id)
        if (e.status === "completed" || e.status === "failed" || e.status === "cancelled") this.ended[e.status]++
        if (e.status === "failed" || e.status === "cancelled") this.notes.push(`${e.status} ${e.type} ${e.id}`)
        return
      }
      case "Progress": {
        const r = this.running.get(e.taskId)
        if (r !== undefined) {
          r.percent = e.percent
          r.description = e.description
        }
        return
      }
      case "Log":
        return
    }
  }
}

const summary = (state: State, counts: Readonly<Record<string, number>> | undefined) =>
  `${counts === undefined ? "" : `queue: ${Render.counts(counts)} · `}since start: ${state.ended.completed} completed, ${state.ended.failed} failed, ${state.ended.cancelled} cancelled`

/** The TTY frame: the summary, then a bar per running task (the first `maxBars`). */
export const frame = (state: State, counts: Readonly<Record<string, number>> | undefined, maxBars = 10): Array<string> => {
  const lines = [summary(state, counts)]
  const running = [...state.running.entries()]
  const typeWidth = Math.max(4, ...running.slice(0, maxBars).map(([, r]) => r.type.length))
  for (const [id, r] of running.slice(0, maxBars)) {
    lines.push(`  ${r.type.padEnd(typeWidth)} ${id}  ${Render.bar(r.percent)}${r.description === null ? "" : `  ${r.description.slice(0, 60)}`}`)
  }
  if (running.length > maxBars) lines.push(`  … and ${running.length - maxBars} more running`)
  return lines
}

/**
 * Shows running tasks with progress bars until the stream ends or the fiber is interrupted.
 * `counts` is polled every second for the queue line.
 */
export const view = <E, E2>(
  events: Stream.Stream<EventView, E>,
  counts: Effect.Effect<Readonly<Record<string, number>>, E2>,
  options: { readonly tty: boolean; readonly maxBars?: number }
): Effect.Effect<void, E> =>
  Effect.gen(function*() {
    const state = new State()
    let latest: Readonly<Record<string, number>> | undefined
    let drawn = 0
    const poll = yield* Effect.forkScoped(
      Effect.repeat(Effect.tap(Effect.option(counts), (c) => Effect.sync(() => { if (c._tag === "Some") latest = c.value })), Schedule.spaced("1 second"))
    )
    const draw = Effect.suspend(() => {
      if (options.tty) {
        const lines = frame(state, latest, options.maxBars)
        const erase = drawn > 0 ? `\x1b[${drawn}A\r\x1b[J` : ""
        drawn = lines.length
        return write(`${erase}${lines.join("\n")}\n`)
      }
      const notes = state.notes.splice(0)
      return write([...notes, summary(state, latest)].map((l) => `${l}\n`).join(""))
    })
    const painter = yield* Effect.forkScoped(Effect.repeat(draw, Schedule.spaced(options.tty ? "250 millis" : "5 seconds")))
    yield* Stream.runForEach(events, (e) => Effect.sync(() => state.apply(e)))
    yield* Fiber.interrupt(painter)
    yield* Fiber.interrupt(poll)
    yield* draw
  }).pipe(Effect.scoped)

export interface FollowOptions<E> {
  readonly tty: boolean
  readonly id: string
  /**
   * The task's stored log lines, read once the stream is open (after its first event): lines
   * written before the subscription are printed first, and a live line already printed is not
   * printed again. Log lines are stored before they are published, so none falls in between.
   */
  readonly backlog?: Effect.Effect<ReadonlyArray<Render.LogLine>, E>
}

/**
 * Follows one task until it ends: a bar redrawn in place on a TTY (log lines print above it),
 * status changes and log lines otherwise. Returns the final status.
 */
export const follow = <E1, E2>(events: Stream.Stream<EventView, E1>, options: FollowOptions<E2>): Effect.Effect<string | undefined, E1 | E2> =>
  Effect.gen(function*() {
    const key = (l: { readonly attempt: number; readonly n: number }) => `${l.attempt}:${l.n}`
    const printed = new Set<string>()
    let backlog = options.backlog
    const printBacklog = Effect.suspend(() => {
      if (backlog === undefined) return Effect.void
      const read = backlog
      backlog = undefined
      return Effect.flatMap(read, (lines) =>
        Effect.forEach(lines, (l) => {
          printed.add(key(l))
          return write(`${Render.logLine(l)}\n`)
        }, { discard: true }))
    })
    let status: string | undefined
    let percent = 0
    let description: string | null = null
    let barShown = false
    const line = () => `${Render.bar(percent)}${description === null ? "" : `  ${description.slice(0, 60)}`}  ${status ?? ""}`
    const clear = () => (barShown ? "\r\x1b[K" : "")
    yield* Stream.runForEach(events, (e) =>
      Effect.zipRight(printBacklog, Effect.suspend(() => {
        switch (e._tag) {
          case "StatusChanged":
            status = e.status
            if (!options.tty) return write(`${e.id} ${e.status}\n`)
            break
          case "Progress":
            percent = e.percent
            description = e.description
            if (!options.tty) return write(`${e.taskId} ${e.percent.toFixed(0)}%${e.description === null ? "" : ` ${e.description}`}\n`)
            break
          case "Log":
            if (printed.has(key(e))) return Effect.void
            if (!options.tty) return write(`${Render.logLine(e)}\n`)
            return Effect.zipRight(write(`${clear()}${Render.logLine(e)}\n`), Effect.sync(() => { barShown = false }))
        }
        barShown = true
        return write(`\r\x1b[K${line()}`)
      })))
    if (options.tty && barShown) yield* write("\n")
    return status
  })
