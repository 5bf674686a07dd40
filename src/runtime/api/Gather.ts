import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type { TaskQueue } from "../../services/queue/TaskQueue.js"
import type * as JsonRpc from "./JsonRpc.js"
import * as Methods from "./Methods.js"

// Single JSON-RPC calls from many connections, gathered at the HTTP edge. Each request arrives
// in its own turn of the event loop, so its submit reached the store alone and paid a commit of
// its own (10,902 transactions for 10,900 single submits, measured). Here the calls that arrive
// during one turn wait for the next, then run together, so their writes share the store's group
// commits like the entries of a batch do. It waits on the event loop (setImmediate): right at
// the HTTP edge, which lives on real I/O anyway, and never in the store, whose writes must not
// need a loop turn under TestClock. docs/design.md, "Gathering single calls".

type Pending = readonly [request: JsonRpc.Request, answer: Deferred.Deferred<JsonRpc.Response | undefined>]

/** One turn of the event loop: the I/O that is ready (other requests) is read first. */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

export class Gather extends Context.Tag("troupe/api/Gather")<Gather, {
  /** Answers one call, with the others that arrived in the same turn. */
  readonly handle: (request: JsonRpc.Request) => Effect.Effect<JsonRpc.Response | undefined>
}>() {}

export const make = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const inbox = yield* Queue.unbounded<Pending>()
  const answer = ([request, done]: Pending) => Effect.flatMap(Methods.handle(request), (response) => Deferred.succeed(done, response))
  yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
    const first = yield* Queue.take(inbox)
    yield* nextTurn
    const rest = yield* Queue.takeAll(inbox)
    // Forked one by one so a slow call does not hold the next turn's calls.
    yield* Effect.forEach([first, ...rest], (p) => Effect.forkIn(answer(p), scope), { discard: true })
  })))
  return Gather.of({
    handle: (request) =>
      Effect.flatMap(Deferred.make<JsonRpc.Response | undefined>(), (done) =>
        Effect.zipRight(Queue.offer(inbox, [request, done]), Deferred.await(done)))
  })
})

export const layer: Layer.Layer<Gather, never, TaskQueue> = Layer.scoped(Gather, make)
