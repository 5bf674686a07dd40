/**
 * Priority order on the test kit (SQLite in memory, in-process execution): N no-op tasks with
 * random priorities, submitted while the queue is paused and then drained (every start must
 * follow priority, then submission), and submitted while it runs (FIFO within a priority must
 * hold). Prints tasks/s, from the first submit to the last completion, and the starts that
 * broke the order, next to a binary heap doing the same ordering alone in the same run.
 * Asserts nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import * as TaskDefinition from "../src/domain/TaskDefinition.js"
import * as TroupeTest from "../src/runtime/TroupeTest.js"
import { TaskEvents } from "../src/services/events/TaskEvents.js"
import { TaskQueue } from "../src/services/queue/TaskQueue.js"
import * as Handlers from "../src/workers/Handlers.js"
import { awaitCompleted } from "./drain.js"
import { describeMachine, median } from "./machine.js"

const Job = TaskDefinition.make("job", { payload: Schema.Struct({ i: Schema.Int, p: Schema.Int }), execution: "fiber" })

/** Starts that came before a task they should have followed: by priority, then submission. */
const inversions = (starts: ReadonlyArray<{ readonly i: number; readonly p: number }>) => {
  let n = 0
  let fifo = 0
  const lastOfPriority = new Map<number, number>()
  for (let k = 1; k < starts.length; k++) {
    const a = starts[k - 1]!
    const b = starts[k]!
    if (b.p > a.p || (b.p === a.p && b.i < a.i)) n++
    const last = lastOfPriority.get(b.p)
    if (last !== undefined && b.i < last) fifo++
    lastOfPriority.set(b.p, b.i)
  }
  return { order: n, fifo }
}

const troupe = (priorities: ReadonlyArray<number>, paused: boolean) => {
  const starts: Array<{ i: number; p: number }> = []
  const handlers = Handlers.make(Job.handler(({ i, p }) => Effect.sync(() => starts.push({ i, p }))))
  return Effect.gen(function*() {
    const queue = yield* TaskQueue
    const events = yield* TaskEvents
    const sub = yield* events.subscribe
    const start = performance.now()
    if (paused) yield* queue.pause({ queue: true })
    for (let i = 0; i < priorities.length; i += 1000) {
      yield* queue.submitMany(Array.from({ length: Math.min(1000, priorities.length - i) }, (_, j) => ({
        definition: Job,
        payload: { i: i + j, p: priorities[i + j]! },
        options: { priority: priorities[i + j]! }
      })))
    }
    if (paused) yield* queue.resume({ queue: true })
    yield* awaitCompleted(sub, priorities.length)
    const seconds = (performance.now() - start) / 1000
    return { perSecond: priorities.length / seconds, ...inversions(starts) }
  }).pipe(Effect.scoped, Effect.provide(TroupeTest.layer(handlers)))
}

/** The same ordering by a plain binary heap on (−priority, index): the in-memory baseline. */
const heap = (priorities: ReadonlyArray<number>) => {
  const start = performance.now()
  const h: Array<number> = []
  const less = (a: number, b: number) => priorities[a]! > priorities[b]! || (priorities[a] === priorities[b] && a < b)
  const push = (x: number) => {
    h.push(x)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!less(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }
  const pop = () => {
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let best = i
        if (l < h.length && less(h[l]!, h[best]!)) best = l
        if (r < h.length && less(h[r]!, h[best]!)) best = r
        if (best === i) break
        ;[h[i], h[best]] = [h[best]!, h[i]!]
        i = best
      }
    }
    return top
  }
  for (let i = 0; i < priorities.length; i++) push(i)
  const starts: Array<{ i: number; p: number }> = []
  while (h.length > 0) {
    const i = pop()
    starts.push({ i, p: priorities[i]! })
  }
  return { perSecond: priorities.length / ((performance.now() - start) / 1000), ...inversions(starts) }
}

export const run = async () => {
  const count = Number(process.env["BENCH_PRIORITY_TASKS"] ?? 100_000)
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  console.log(`\n# priority order on the test kit (SQLite in memory, fibers), ${count} tasks, median of ${runs} — ${describeMachine()}`)
  const results: Array<{ perSecond: number; order: number; fifo: number }> = []
  const during: Array<{ perSecond: number; order: number; fifo: number }> = []
  const baseline: Array<{ perSecond: number; order: number; fifo: number }> = []
  for (let r = 0; r < runs; r++) {
    // Random priorities from -5 to 5, a fixed sequence per run.
    let seed = 42 + r
    const priorities = Array.from({ length: count }, () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return (seed % 11) - 5
    })
    baseline.push(heap(priorities))
    results.push(await Effect.runPromise(troupe(priorities, true)))
    during.push(await Effect.runPromise(troupe(priorities, false)))
  }
  const line = (name: string, xs: typeof results) =>
    console.log(`  ${name.padEnd(38)} ${median(xs.map((x) => x.perSecond)).toFixed(0).padStart(9)} tasks/s   out of order: ${Math.max(...xs.map((x) => x.order))} (FIFO within a priority: ${Math.max(...xs.map((x) => x.fifo))})`)
  line("binary heap alone (in memory)", baseline)
  line("troupe test kit, submitted then run", results)
  line("troupe, submitted while it runs", during)
  console.log(`  (target: ≥ 50,000 tasks/s with 0 out of order)`)
  return { troupe: median(results.map((x) => x.perSecond)), inversions: Math.max(...results.map((x) => x.order)) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
