import * as Effect from "effect/Effect"
import type * as Clock from "effect/Clock"

// Giving the event loop its turn. The runtime's fibers wake one another (the dispatcher, the
// group-commit writer, handlers in fibers, the wake timer) in microtasks; while work lasts they
// can go on so for seconds, and Effect's scheduler counts its yields per fiber, restarting the
// count whenever one resumes: no I/O is polled meanwhile. Draining 100,000 ready no-op tasks
// kept the HTTP API (and a plain node:http server in the same process) from answering for 10 s.
// The loops that keep that work going call `maybeYield` each round: once the loop has not
// turned for `budgetMs`, they wait for the next turn (pending I/O is polled first).
// Yielding here, at a known point of our own loops, and not in the scheduler under every fiber:
// code that creates an emitter and listens to it a few steps later (a child process's output,
// a worker thread's exit) relies on no turn in between (a scheduler that yielded anywhere lost
// command output and hung shutdowns; docs/design.md).

const budgetMs = 10

/** When the event loop last turned, as a marker `setImmediate` saw it. */
let lastTurn = performance.now()
let markerSet = false
const marker = () => {
  markerSet = false
  lastTurn = performance.now()
}

// The next turn is the next check phase (setImmediate): the loop polls I/O before it. Not a
// timer: on this Node (libuv 1.46) a timer callback that runs long and sets another timer runs
// again in the same timers phase, so a loop that yielded by `sleep(0)` kept the event loop in
// its timers phase for the whole drain (HTTP requests waited 5 s; docs/design.md). Nothing at
// all under TestClock (a test's fibers are not left waiting on the real event loop).
/** One turn of the event loop: waits for the next check phase (the I/O that is ready is read first). */
export const immediate: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})
/** TestClock's clock (the one clock that can be adjusted). */
const isTestClock = (clock: Clock.Clock) => "adjust" in clock
const nextTurn = Effect.zipRight(
  Effect.clockWith((clock) => (isTestClock(clock) ? Effect.void : immediate)),
  Effect.sync(() => {
    lastTurn = performance.now()
  })
)

/** Waits for the event loop's next turn if it has not turned for a while; at once otherwise. */
export const maybeYield: Effect.Effect<void> = Effect.suspend(() => {
  if (performance.now() - lastTurn < budgetMs) {
    if (!markerSet) {
      markerSet = true
      setImmediate(marker)
    }
    return Effect.void
  }
  return nextTurn
})
