/**
 * What rate limits cost the queue (SQLite, durable): no-op fiber tasks submitted and drained
 * with no limit, under a limit of the whole type that never binds, under a per-key limit that
 * never binds (100 rate keys, so a batch takes from many buckets), alternating, median of 3
 * each; then how closely a binding limit (2,000 a second) is kept: the starts measured against
 * it. Prints figures and the machine; asserts nothing.
 *
 *   npm run build && node dist/bench/rateLimits.js     (BENCH_TASKS=20000)
 */
import * as Effect from "effect/Effect"
import { fileURLToPath, pathToFileURL } from "node:url"
import type * as TaskDefinition from "../src/domain/TaskDefinition.js"
import * as Troupe from "../src/runtime/Troupe.js"
import type { SubmitOptions } from "../src/services/queue/TaskQueue.js"
import { submitAndDrain } from "./drain.js"
import { NoopCapped, NoopFiber, NoopRated, NoopRatedByKey } from "./e2eHandlers.js"
import { describeMachine, median } from "./machine.js"
import { tmpDb } from "./raw.js"

const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

type Noop = TaskDefinition.TaskDefinition<{ readonly n: number }, { readonly n: number }, void, void, never, never, string>

const drain = (definition: Noop, count: number, options: (i: number) => SubmitOptions = () => ({})) =>
  Effect.runPromise(Effect.provide(
    Effect.map(submitAndDrain(definition, count, (n) => ({ n }), options), (msPerTask) => 1000 / msPerTask),
    Troupe.layer({ database: tmpDb(), handlersModule, workers: 2, shutdownTimeout: 0 })
  ) as Effect.Effect<number, unknown>)

export const run = async () => {
  const count = Number(process.env["BENCH_TASKS"] ?? 20_000)
  console.log(`\n# rate limits (SQLite, durable) — ${describeMachine()}`)
  const none: Array<number> = []
  const type: Array<number> = []
  const byKey: Array<number> = []
  for (let r = 0; r < 3; r++) {
    none.push(await drain(NoopFiber, count))
    type.push(await drain(NoopRated, count))
    byKey.push(await drain(NoopRatedByKey, count, (i) => ({ rateKey: `account-${i % 100}` })))
  }
  console.log(`no-op fiber tasks, submitMany ${count} then drain, median of 3:`)
  console.log(`  no rate limit                                  ${median(none).toFixed(0).padStart(8)} tasks/s`)
  console.log(`  a limit on the type that never binds           ${median(type).toFixed(0).padStart(8)} tasks/s`)
  console.log(`  a limit per rate key (100 keys), never binds   ${median(byKey).toFixed(0).padStart(8)} tasks/s`)
  const capped = Math.min(count, 10_000)
  const kept = await drain(NoopCapped, capped)
  // The first second's allowance starts at once, the rest as it comes back: ideal is capped / 2000 − 1 seconds.
  const ideal = capped / (capped / 2000 - 1 + 0.0001)
  console.log(`  a binding limit, 2,000 per second, ${capped} tasks  ${kept.toFixed(0).padStart(8)} tasks/s   (ideal ${ideal.toFixed(0)}: the first second's 2,000 at once)`)
  return { none: median(none), type: median(type), byKey: median(byKey), capped: kept }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
