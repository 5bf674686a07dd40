import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TaskStatus from "../../domain/TaskStatus.js"
import type { EventView } from "./Live.js"
import * as Render from "./Render.js"
import type { Screen } from "./Screen.js"

// One task followed to its end (`submit --wait`, `watch ID`). The same lines in the same order
// in a terminal and elsewhere: each status change, then the task's log lines as they come; in a
// terminal its progress is a bar in the screen's live region below them, elsewhere a line per
// progress report. The region is gone when the task ends, so what prints next (the task's final
// state) is not drawn over by a stale bar.

export interface FollowOptions<E> {
  readonly screen: Screen
  readonly id: string
  /**
   * The task's stored log lines, read once the stream is open (after its first event): lines
   * written before the subscription are printed first, and a live line already printed is not
   * printed again. Log lines are stored before they are published, so none falls in between.
   */
  readonly backlog?: Effect.Effect<ReadonlyArray<Render.LogLine>, E>
}

/** Follows one task until its event stream ends; returns the last status heard. */
export const follow = <E1, E2>(events: Stream.Stream<EventView, E1>, options: FollowOptions<E2>): Effect.Effect<string | undefined, E1 | E2> =>
  Effect.gen(function*() {
    const { screen } = options
    const key = (l: { readonly attempt: number; readonly n: number }) => `${l.attempt}:${l.n}`
    const printed = new Set<string>()
    let backlog = options.backlog
    const printBacklog = Effect.suspend(() => {
      if (backlog === undefined) return Effect.void
      const read = backlog
      backlog = undefined
      return Effect.flatMap(read, (lines) => Effect.sync(() => {
        for (const l of lines) printed.add(key(l))
        screen.print(lines.map(Render.logLine))
      }))
    })
    let status: string | undefined
    let percent = 0
    let description: string | null = null
    const bar = () => [`${options.id}  ${Render.bar(percent, 12)}  ${status ?? ""}${description === null ? "" : `  ${description}`}`]
    const handle = (e: EventView) => Effect.sync(() => {
      switch (e._tag) {
        case "StatusChanged":
          status = e.status
          screen.print(`${e.id} ${e.status}`)
          break
        case "Progress":
          percent = e.percent
          description = e.description
          if (!screen.live) screen.print(`${e.taskId} ${e.percent.toFixed(0)}%${e.description === null ? "" : ` ${e.description}`}`)
          break
        case "Log":
          if (printed.has(key(e))) return
          screen.print(Render.logLine(e))
          break
      }
      screen.region(bar())
    })
    // The first event (the task's status when the stream opened) before the stored lines, unless
    // the task had already ended: its lines were written before its end. A live log line after them.
    const logsFirst = (e: EventView) => e._tag === "Log" || (e._tag === "StatusChanged" && TaskStatus.isFinal(e.status))
    yield* Stream.runForEach(events, (e) =>
      logsFirst(e) ? Effect.zipRight(printBacklog, handle(e)) : Effect.zipRight(handle(e), printBacklog))
    return status
  }).pipe(Effect.ensuring(Effect.sync(() => options.screen.clear())))
