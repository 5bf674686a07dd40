import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Tracer from "effect/Tracer"
import type { TaskQueue } from "../../services/queue/TaskQueue.js"
import * as Turn from "../../services/scheduler/turn.js"
import type * as JsonRpc from "./JsonRpc.js"
import * as Methods from "./Methods.js"

// Single JSON-RPC calls from many connections, gathered at the HTTP edge. Each request arrives
// in its own turn of the event loop, so its submit reached the store alone and paid a commit of
// its own (10,902 transactions for 10,900 single submits, measured). Here the calls that arrive
// during one turn wait for the next, then run together, so their writes share the store's group
// commits like the entries of a batch do. It waits on the event loop (setImmediate): right at
// the HTTP edge, which lives on real I/O anyway, and never in the store, whose writes must not
// need a loop turn under TestClock. docs/design.md, "Gathering single calls".

interface Pending {
  readonly request: JsonRpc.Request
  readonly answer: Deferred.Deferred<JsonRpc.Response | undefined>
  /** The request's span (when tracing), so the call still runs under it. */
  readonly span: Option.Option<Tracer.AnySpan>
}

/** One turn of the event loop: the I/O that is ready (other requests) is read first. */
const nextTurn = Turn.immediate

export class Gather extends Context.Tag("troupe/api/Gather")<Gather, {
  /** Answers one call, with the others that arrived in the same turn. */
  readonly handle: (request: JsonRpc.Request) => Effect.Effect<JsonRpc.Response | undefined>
}>() {}

export const make = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const inbox = yield* Queue.unbounded<Pending>()
  // The caller hears how its call ended, whatever it was (interrupted at shutdown included).
  const answer = ({ answer, request, span }: Pending) =>
    Option.match(span, { onNone: () => Methods.handle(request), onSome: (s) => Effect.withParentSpan(Methods.handle(request), s) }).pipe(
      // Forked from an uninterruptible step, it would inherit that: the call itself can be
      // interrupted (the caller went away, the server stops).
      Effect.interruptible,
      Effect.onExit((exit) => Deferred.done(answer, exit))
    )
  // From a call taken to its fiber started, nothing interrupts (one turn of the loop at most),
  // so no taken call is left unanswered. When the scope closes, no call is taken any more (the
  // flag is checked in the same step as the offer), and those still waiting are interrupted.
  let stopping = false
  yield* Effect.addFinalizer(() =>
    Effect.zipRight(
      Effect.sync(() => {
        stopping = true
      }),
      Effect.flatMap(Queue.takeAll(inbox), (left) => Effect.forEach(left, (p) => Deferred.interrupt(p.answer), { discard: true }))
    ))
  yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(inbox), (first) =>
    Effect.uninterruptible(Effect.gen(function*() {
      yield* nextTurn
      const rest = yield* Queue.takeAll(inbox)
      // Forked one by one so a slow call does not hold the next turn's calls.
      yield* Effect.forEach([first, ...rest], (p) => Effect.forkIn(answer(p), scope), { discard: true })
    })))))
  return Gather.of({
    handle: (request) =>
      Effect.gen(function*() {
        const answer = yield* Deferred.make<JsonRpc.Response | undefined>()
        const span = yield* Effect.option(Effect.currentSpan)
        const taken = yield* Effect.sync(() => !stopping && inbox.unsafeOffer({ request, answer, span }))
        return taken ? yield* Deferred.await(answer) : yield* Effect.interrupt
      })
  })
})

export const layer: Layer.Layer<Gather, never, TaskQueue> = Layer.scoped(Gather, make)
