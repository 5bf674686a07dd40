import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TaskDefinition from "../../src/domain/TaskDefinition.js"
import type { TaskId } from "../../src/domain/TaskId.js"
import type { TaskRef } from "../../src/domain/TaskRef.js"
import type { TroupeClient } from "../../src/runtime/client/TroupeClient.js"
import * as TroupeTest from "../../src/runtime/TroupeTest.js"
import type { Submit } from "../../src/services/queue/TaskQueue.js"
import { TaskQueue } from "../../src/services/queue/TaskQueue.js"
import * as Transactional from "../../src/services/queue/Transactional.js"
import * as Handlers from "../../src/workers/Handlers.js"

// Types that catch mistakes: a task reference is tied to the definition it was submitted with,
// and a submitMany list is checked item by item. The `@ts-expect-error` lines are the test:
// `npm run typecheck` (in CI) fails if any of them compiles. They sit in functions that never
// run; the last test runs the same calls for real.

const Url = Schema.Struct({ url: Schema.String })
const Fetch = TaskDefinition.make("fetch", { payload: Url, success: Schema.String, execution: "fiber" })
/** The same Schemas as Fetch, another task type: its references must not mix with Fetch's. */
const Crawl = TaskDefinition.make("crawl", { payload: Url, success: Schema.String, execution: "fiber" })
const Count = TaskDefinition.make("count", { payload: Schema.Struct({ words: Schema.Array(Schema.String) }), success: Schema.Number, execution: "fiber" })

type Queue = Context.Tag.Service<TaskQueue>
type Client = Context.Tag.Service<TroupeClient>

export const typeChecks = (queue: Queue, client: Client, plain: TaskId) =>
  Effect.gen(function*() {
    const fetch = yield* queue.submit(Fetch, { url: "https://example.test" })
    expectTypeOf(fetch).toEqualTypeOf<TaskRef<typeof Fetch>>()
    // A reference is an id: everything that takes an id takes it.
    expectTypeOf(fetch).toMatchTypeOf<TaskId>()
    yield* queue.get(fetch)
    yield* queue.watch(fetch).pipe(Effect.succeed)
    expectTypeOf(yield* queue.await(Fetch, fetch)).toEqualTypeOf<string>()
    // A plain id (from a listing, typed in) is taken by any definition.
    yield* queue.await(Count, plain)
    // @ts-expect-error another definition's reference, though its Schemas are the same
    yield* queue.await(Crawl, fetch)
    // @ts-expect-error another definition's reference
    yield* queue.await(Count, fetch)
    // @ts-expect-error a payload of the wrong shape
    yield* queue.submit(Fetch, { url: 1 })

    // submitMany: a heterogeneous list, each item checked against its own definition; the
    // references come back typed, in order.
    const [f, c] = yield* queue.submitMany([
      { definition: Fetch, payload: { url: "https://example.test" } },
      { definition: Count, payload: { words: ["a", "b"] } }
    ])
    expectTypeOf(yield* queue.await(Fetch, f)).toEqualTypeOf<string>()
    expectTypeOf(yield* queue.await(Count, c)).toEqualTypeOf<number>()
    // @ts-expect-error the references in the wrong order
    yield* queue.await(Fetch, c)
    yield* queue.submitMany([
      { definition: Fetch, payload: { url: "https://example.test" } },
      // @ts-expect-error Count's payload given to Fetch
      { definition: Fetch, payload: { words: ["a"] } }
    ])
    // A list built in a loop: its items of several definitions, each item still checked.
    const items: Array<Submit<typeof Fetch | typeof Count>> = []
    items.push({ definition: Count, payload: { words: [] } })
    // @ts-expect-error Fetch's payload given to Count
    items.push({ definition: Count, payload: { url: "x" } })
    yield* queue.submitMany(items)

    // The remote client and the transactional submit type the same way.
    const remote = yield* client.submit(Fetch, { url: "https://example.test" })
    expectTypeOf(yield* client.await(Fetch, remote)).toEqualTypeOf<string>()
    // @ts-expect-error another definition's reference
    yield* client.await(Count, remote)
    const [remoteCount] = yield* client.submitMany([{ definition: Count, payload: { words: [] } }])
    // @ts-expect-error another definition's reference
    yield* client.await(Fetch, remoteCount)
    const inTransaction = yield* Transactional.submit(Fetch, { url: "https://example.test" })
    // @ts-expect-error another definition's reference
    yield* queue.await(Count, inTransaction)
  })

const handlers = Handlers.make(
  Fetch.handler(({ url }) => Effect.succeed(`<html>${url}</html>`)),
  Crawl.handler(({ url }) => Effect.succeed(url)),
  Count.handler(({ words }) => Effect.succeed(words.length))
)

describe("task references", () => {
  it.effect("at run time a reference is the id: submit, submitMany and await as typed", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const fetch = yield* queue.submit(Fetch, { url: "https://example.test" })
      expect(typeof fetch).toBe("string")
      expect((yield* queue.get(fetch)).type).toBe("fetch")
      const [f, c] = yield* queue.submitMany([
        { definition: Fetch, payload: { url: "a" } },
        { definition: Count, payload: { words: ["x", "y", "z"] } }
      ])
      expect([yield* queue.await(Fetch, fetch), yield* queue.await(Fetch, f), yield* queue.await(Count, c)])
        .toStrictEqual(["<html>https://example.test</html>", "<html>a</html>", 3])
    }).pipe(Effect.provide(TroupeTest.layer(handlers))))
})
