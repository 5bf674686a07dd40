/**
 * A media pipeline: an input cut into segments, each encoded by a program with its progress
 * shown (Encode, in-process, the app's CommandExecutor), then the segments joined by a built-in
 * `command` task that depends on them all — it runs only once every segment is encoded, and
 * would fail (DependencyFailed) if one failed.
 *
 *   npm run build && node dist/examples/media/main.js [SEGMENTS]
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { CommandTask, Troupe } from "../../src/index.js"
import { TaskQueue } from "../../src/services/queue/TaskQueue.js"
import handlers, { encoder } from "./handlers.js"
import { Encode } from "./tasks.js"

const segments = Number(process.argv[2] ?? 4)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-media-"))

const program = Effect.gen(function*() {
  const queue = yield* TaskQueue
  const input = "holiday.mov"
  const parts = Array.from({ length: segments }, (_, index) => ({ input, index, of: segments, output: path.join(dir, `part-${index}.seg`) }))
  const encodes = yield* queue.submitMany(parts.map((payload) => ({ definition: Encode, payload })))
  // Each segment's progress as it comes, until it ends (a watch starts from the task's snapshot).
  const watchers = yield* Effect.forEach(encodes, (id, i) =>
    Effect.fork(Stream.runForEach(queue.watch(id), (event) =>
      event._tag === "Progress"
        ? Console.log(`  segment ${i + 1}: ${event.percent.toFixed(0)}%`)
        : event._tag === "StatusChanged" && event.status === "completed"
        ? Console.log(`segment ${i + 1}/${segments} encoded`)
        : Effect.void)))
  const joined = path.join(dir, "holiday.mp4")
  const concat = yield* queue.submit(CommandTask.Command, {
    argv: [process.execPath, encoder, "--concat", joined, ...parts.map((p) => p.output)]
  }, { dependsOn: encodes })
  const { exitCode } = yield* queue.await(CommandTask.Command, concat)
  yield* Fiber.joinAll(watchers)
  const bytes = (yield* Effect.forEach(encodes, (id) => queue.await(Encode, id))).reduce((n, r) => n + r.bytes, 0)
  const lines = fs.readFileSync(joined, "utf8").trim().split("\n").length
  yield* Console.log(`joined ${lines} segments (${bytes} bytes) into holiday.mp4, exit code ${exitCode}`)
  const log = yield* Stream.runCollect(queue.logs(concat))
  for (const line of log) yield* Console.log(`concat log: ${line.message.replace(dir, "<dir>")}`)
})

program.pipe(
  Effect.provide(Troupe.layer({ database: ":memory:", handlers, allowCommands: true, shutdownTimeout: 0 }).pipe(Layer.provide(NodeContext.layer))),
  Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))),
  NodeRuntime.runMain
)
