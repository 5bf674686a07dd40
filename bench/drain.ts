import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import type * as TaskDefinition from "../src/domain/TaskDefinition.js"
import type { TaskEvent } from "../src/services/events/TaskEvents.js"
import { TaskEvents } from "../src/services/events/TaskEvents.js"
import type { SubmitOptions } from "../src/services/queue/TaskQueue.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"

/**
 * Submits `count` tasks (submitMany in chunks of 1,000), then waits until all completed;
 * returns the wall time per task in ms, from the first submit to the last completion.
 */
export const submitAndDrain = <P, PI, S, SI, F, FI, N extends string>(
  definition: TaskDefinition.TaskDefinition<P, PI, S, SI, F, FI, N>,
  count: number,
  payload: (i: number) => P,
  options: (i: number) => SubmitOptions = () => ({})
) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue
    const events = yield* TaskEvents
    const sub = yield* events.subscribe
    const start = performance.now()
    for (let i = 0; i < count; i += 1000) {
      yield* queue.submitMany(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ definition, payload: payload(i + j), options: options(i + j) })))
    }
    yield* awaitCompleted(sub, count)
    return (performance.now() - start) / count
  }).pipe(Effect.scoped)

/** Waits until `count` completions came through the subscription. */
export const awaitCompleted = <E>(sub: Stream.Stream<ReadonlyArray<TaskEvent>, E>, count: number) =>
  Effect.asVoid(Stream.runCount(sub.pipe(
    Stream.flattenIterables,
    Stream.filter((e) => e._tag === "StatusChanged" && e.status === "completed"),
    Stream.take(count)
  )))
