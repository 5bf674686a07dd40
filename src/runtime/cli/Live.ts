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
    const draw = Effect.sync(() => screen.region(Board.frame(board, screen.columns, options.maxBars)))
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
    yield* Stream.runForEach(events, (e) => Effect.sync(() => screen.print(board.apply(e))))
  }).pipe(
    Effect.scoped,
    // The last frame stays as plain lines; the region is gone (what prints next is not erased).
    Effect.ensuring(Effect.sync(() => {
      options.screen.clear()
    }))
  )
