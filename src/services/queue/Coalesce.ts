import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { StoreError } from "../../domain/TaskErrors.js"

/**
 * Independent requests made at the same moment share one run. An idle request runs at once in
 * its caller's fiber; requests that arrive while a run is in flight wait together and go in the
 * next one, whose result is split back in order. A burst of 20,000 single submits becomes a few
 * multi-row inserts, one group-commit write and one notice to the scheduler each, instead of
 * 20,000 of each. A failure fails every request of its run; so only requests that cannot make
 * each other fail may share one (the caller decides).
 */
export interface Coalesce<A, B, E> {
  readonly run: (input: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B>, E | StoreError>
}

interface Pending<A, B, E> {
  readonly input: ReadonlyArray<A>
  readonly done: Deferred.Deferred<ReadonlyArray<B>, E | StoreError>
}

const closedError = () => new StoreError({ message: "the task store is closed" })

/** `runAll` must return one B per A, in order. */
export const make = <A, B, E>(
  runAll: (input: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B>, E>
): Effect.Effect<Coalesce<A, B, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Owned by this module's synchronous steps: runs in flight, and the requests waiting.
    let running = 0
    let closed = false
    const pending: Array<Pending<A, B, E>> = []
    const wake = yield* Queue.sliding<void>(1)

    const runBatch = (batch: ReadonlyArray<Pending<A, B, E>>) =>
      Effect.flatMap(Effect.exit(runAll(batch.flatMap((p) => p.input))), (exit) =>
        Effect.sync(() => {
          let at = 0
          for (const p of batch) {
            const n = p.input.length
            Deferred.unsafeDone(p.done, Exit.map(exit, (all) => all.slice(at, at + n)))
            at += n
          }
        }))

    /** A run ended: the requests that waited for it go next (the runner takes them). */
    const ended = Effect.sync(() => {
      running--
      if (pending.length > 0) Queue.unsafeOffer(wake, undefined)
    })

    // The runner: takes every waiting request as one batch whenever woken.
    yield* Queue.take(wake).pipe(
      // A batch taken always finishes and answers its callers.
      Effect.zipRight(Effect.uninterruptible(Effect.suspend(() => {
        if (pending.length === 0) return Effect.void
        running++
        return Effect.ensuring(runBatch(pending.splice(0)), ended)
      }))),
      Effect.forever,
      Effect.forkScoped
    )
    // Closing: requests still waiting fail, later ones at once.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        for (const p of pending.splice(0)) Deferred.unsafeDone(p.done, Exit.fail(closedError()))
      }))

    return {
      // The count and its release are set up without a gap an interruption could fall into
      // (a count never released would leave every later request waiting).
      run: (input) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.suspend(() => {
            if (closed) return Effect.fail(closedError())
            if (running === 0) {
              running++
              return Effect.ensuring(restore(runAll(input)), ended)
            }
            const done = Deferred.unsafeMake<ReadonlyArray<B>, E | StoreError>(FiberId.none)
            pending.push({ input, done })
            return restore(Deferred.await(done))
          })
        )
    }
  })
