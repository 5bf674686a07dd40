import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"

/** Advances TestClock in small steps so every sleeper wakes and runs in order. */
export const advance = (total: Duration.DurationInput, step: Duration.DurationInput = "10 millis") =>
  Effect.gen(function*() {
    const steps = Math.ceil(Duration.toMillis(total) / Duration.toMillis(step))
    for (let i = 0; i < steps; i++) {
      yield* TestClock.adjust(step)
      yield* Effect.yieldNow()
    }
  })
