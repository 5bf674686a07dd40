/**
 * One troupe node for the PostgreSQL benchmarks (bench/postgres.ts starts 1 or 3): opens the
 * runtime on the URL it is given, with the benchmark handlers on 2 worker threads, prints READY
 * and runs until SIGTERM.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"
import * as Troupe from "../src/runtime/Troupe.js"

const [database] = process.argv.slice(2)
const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))

Layer.launch(Layer.effectDiscard(Effect.sync(() => process.stdout.write("READY\n"))).pipe(
  Layer.provide(Troupe.layer({ database: database!, handlersModule, workers: 2, shutdownTimeout: 0 }))
)).pipe(NodeRuntime.runMain)
