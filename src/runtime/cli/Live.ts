import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { TaskEvent } from "../../domain/TaskEvent.js"
import * as Board from "./Board.js"
import type { Screen } from "./Screen.js"

// Live progress of every running task: `troupe watch` and `troupe start --progress`. In a
// terminal the board (cli/Board.ts) is the screen's live region, redrawn a few times a second,
// with failures, retries and requeues printed above it; elsewhere (pipes, CI logs, NO_COLOR,
// TERM=dumb) those lines print as they happen and a summary line every few seconds.

/** Task events as they arrive over the API: the in-process TaskEvent, by its own Schema. */
export const EventView = TaskEvent
export type EventView = TaskEvent

export interface ViewOptions {
  readonly screen: Screen
  readonly maxBars?: number
}

/**
 * Shows the running tasks until the stream ends or the fiber is interrupted. `snapshot` is read
 * every second to correct the board (cli/Board.ts); a failed read is skipped.
 */
export const view = <E, E2>(
  events: Stream.Stream<EventView, E>,
  snapshot: Effect.Effect<Board.Snapshot, E2>,
  options: ViewOptions
): Effect.Effect<void, E> =>
  Effect.gen(function*() {
    const { screen } = options
    const board = new Board.Board()
    // The header, the bars and the "… more" line within the terminal's height.
    const maxBars = Math.max(0, Math.min(options.maxBars ?? 10, screen.rows - 3))
    const draw = Effect.sync(() => screen.region(Board.frame(board, screen.columns, maxBars)))
    const correct = Effect.suspend(() => {
      const since = board.mark()
      return Effect.flatMap(Effect.option(snapshot), (s) =>
        s._tag === "Some" ? Effect.zipRight(Effect.sync(() => board.reconcile(s.value, since)), draw) : Effect.void)
    })
    yield* Effect.forkScoped(Effect.repeat(correct, Schedule.spaced("1 second")))
    yield* Effect.forkScoped(
      screen.live
        ? Effect.repeat(draw, Schedule.spaced("200 millis"))
        : Effect.repeat(Effect.sync(() => screen.print(Board.summary(board))), Schedule.spaced("5 seconds"))
    )
    // A burst of events is one write: its lines, then the region once.
    yield* Stream.runForEachChunk(events, (chunk) => Effect.sync(() => screen.print(Array.from(chunk).flatMap((e) => board.apply(e)))))
  }).pipe(
    Effect.scoped,
    // The region is erased: the lines printed above it stay, and what prints next (the
    // shutdown's messages) starts on a clean line.
    Effect.ensuring(Effect.sync(() => options.screen.clear()))
  )
