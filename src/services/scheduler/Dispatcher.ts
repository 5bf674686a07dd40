import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { StoreError } from "../../domain/TaskErrors.js"
import { Command } from "./Command.js"
import type { Done } from "./Command.js"
import * as Control from "./Control.js"
import * as Dispatch from "./Dispatch.js"
import * as Turn from "./turn.js"
import * as Plan from "./Plan.js"
import type { Env } from "./State.js"

// The dispatcher: the one fiber that owns the dispatch state. It takes the commands everything
// else sends (in order), applies them, then dispatches until it must wait for the next one.

/** Applies an effect for a sender that waits (its Deferred hears the outcome), or logs a failure. */
const answer = (done: Done, effect: Effect.Effect<void, StoreError>) =>
  done === undefined
    ? Effect.catchAllCause(effect, (cause) => Effect.logError("could not schedule a change", Cause.squash(cause)))
    : Effect.flatMap(Effect.exit(effect), (exit) => Deferred.done(done, exit))

/** Applies one command to the dispatch state. */
export const apply = (env: Env, command: Command): Effect.Effect<void> =>
  Command.$match(command, {
    Wake: ({ storeChanged }) =>
      Effect.sync(() => {
        if (storeChanged) Plan.storeChanged(env.state, env.options)
      }),
    Ready: ({ done, refs }) => answer(done, Control.ready(env, refs)),
    Changed: ({ changes, done, endedKeys }) =>
      answer(done, Effect.flatMap(Clock.currentTimeMillis, (now) => Control.applyChanges(env, changes, now, endedKeys))),
    Answered: ({ sent }) => Effect.sync(() => Plan.answered(env.state, sent.executor, sent.tasks.length)),
    Ended: ({ interrupted, sent, settled }) => Dispatch.ended(env, sent, settled, interrupted),
    RoomOpened: ({ executor }) =>
      Effect.sync(() => Plan.roomOpened(env.state, executor)),
    RateOpened: ({ bucket }) => Effect.sync(() => Plan.rateOpened(env.state, env.options, bucket)),
    Admitting: () =>
      Effect.sync(() => {
        env.state.watchingAdmission = false
      }),
    Paused: ({ done, pauses }) => answer(done, Effect.sync(() => Plan.applyPauses(env.state, env.options, pauses))),
    Stop: ({ done }) =>
      answer(done, Effect.sync(() => {
        env.state.stopping = true
      }))
  })

const applyAll = (env: Env, commands: Chunk.Chunk<Command>) => Effect.forEach(commands, (c) => apply(env, c), { discard: true })

/** The dispatcher's loop: forked once, in the scheduler's scope. */
export const run = (env: Env): Effect.Effect<never> =>
  Effect.gen(function*() {
    for (;;) {
      yield* applyAll(env, yield* Queue.takeBetween(env.state.commands, 1, Number.MAX_SAFE_INTEGER))
      // Dispatch while there is work and room; what arrives meanwhile (room back, attempts
      // ended, new tasks) is applied between turns, in order.
      while (yield* Dispatch.step(env)) {
        yield* Turn.maybeYield
        const more = yield* Queue.takeAll(env.state.commands)
        if (Chunk.isNonEmpty(more)) yield* applyAll(env, more)
      }
    }
  })
