import { describe, expect, it, layer } from "@effect/vitest"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
// The whole runtime, compiled (npm test builds first): real worker threads and a real SQLite file.
import * as Troupe from "../../../dist/src/runtime/Troupe.js"
import { TaskQueue } from "../../../dist/src/services/queue/TaskQueue.js"
import { Crash, Echo, FiberEcho, Flaky, Hang, Refuse } from "../../../dist/test/fixtures/traceHandlers.js"
import * as Trace from "../../../src/domain/Trace.js"

const handlersModule = fileURLToPath(new URL("../../../dist/test/fixtures/traceHandlers.js", import.meta.url))
const database = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "troupe-tracing-")), "tasks.db")
const exporter = new InMemorySpanExporter()

const spansOf = (name: string, taskId: string): Array<ReadableSpan> =>
  exporter.getFinishedSpans().filter((s) => s.name === name && s.attributes["task.id"] === taskId)

const only = (name: string, taskId: string): ReadableSpan => {
  const spans = spansOf(name, taskId)
  expect(spans.length, `${name} spans of ${taskId}`).toBe(1)
  return spans[0]!
}

const ids = (s: ReadableSpan) => s.spanContext()

/**
 * Waits until the task's dispatch spans have ended: `await` may see the committed outcome in
 * the store just before the dispatcher ends the span (a poll, 10 ms apart).
 */
const dispatched = (taskId: string, count = 1) =>
  Effect.repeat(
    Effect.sync(() => spansOf("troupe.dispatch", taskId).length),
    Schedule.recurUntil((n: number) => n >= count).pipe(Schedule.addDelay(() => "10 millis"))
  )

const ERROR = 2

layer(
  Troupe.layer({ database, handlersModule, workers: 1, telemetry: { spanProcessor: new SimpleSpanProcessor(exporter) } }),
  { timeout: 60_000, excludeTestServices: true }
)("tracing on SQLite and worker threads", (it) => {
  it.effect("one trace from submit to the attempt in the worker thread, parented across the boundary", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Echo, { n: 1 }, { priority: "high" })
      expect(yield* queue.await(Echo, id)).toStrictEqual({ n: 1 })
      yield* dispatched(id)
      const submit = only("troupe.submit", id)
      const dispatch = only("troupe.dispatch", id)
      const attempt = only("troupe.attempt", id)
      expect(ids(dispatch).traceId).toBe(ids(submit).traceId)
      expect(dispatch.parentSpanContext?.spanId).toBe(ids(submit).spanId)
      expect(ids(attempt).traceId).toBe(ids(dispatch).traceId)
      expect(attempt.parentSpanContext?.spanId).toBe(ids(dispatch).spanId)
      expect(attempt.attributes).toMatchObject({ "task.id": id, "task.type": "echo", "task.attempt": 1, "task.priority": 20 })
      expect(dispatch.attributes).toMatchObject({ "task.id": id, "task.type": "echo", "task.attempt": 1, "task.status": "completed" })
      expect(attempt.status.code).not.toBe(ERROR)
      // The handler's own span is a child of the attempt, recorded in the thread too.
      const work = exporter.getFinishedSpans().filter((s) => s.name === "echo.work" && s.parentSpanContext?.spanId === ids(attempt).spanId)
      expect(work.length).toBe(1)
      expect(ids(work[0]!).traceId).toBe(ids(attempt).traceId)
      // The task keeps the submit's traceparent.
      const task = yield* queue.get(id)
      expect(task.traceParent).toBe(Trace.encode({ ...ids(submit), sampled: true }))
      // The store's own statements make no spans.
      expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith("sql.")).length).toBe(0)
    }))

  it.effect("a failed attempt's span has error status and the exception recorded", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Refuse, { n: 7 })
      const error = yield* Effect.flip(queue.await(Refuse, id))
      expect(error._tag).toBe("Refused")
      yield* dispatched(id)
      const attempt = only("troupe.attempt", id)
      expect(attempt.status.code).toBe(ERROR)
      expect(attempt.attributes["task.error"]).toBe("HandlerFailure")
      const exception = attempt.events.find((e) => e.name === "exception")
      expect(exception?.attributes?.["exception.message"]).toBeTypeOf("string")
      expect(only("troupe.dispatch", id).attributes["task.status"]).toBe("failed")
    }))

  it.effect("a timed-out attempt is an error on its span", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Hang, { n: 1 })
      const error = yield* Effect.flip(queue.await(Hang, id))
      expect(error._tag).toBe("TaskFailed")
      yield* dispatched(id)
      const attempt = only("troupe.attempt", id)
      expect(attempt.status.code).toBe(ERROR)
      expect(attempt.attributes["task.error"]).toBe("TaskTimeout")
    }))

  it.effect("a retry is dispatched in the submitter's trace; a defect is recorded", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Flaky, { n: 1 })
      expect(yield* queue.await(Flaky, id)).toBe(2)
      yield* dispatched(id, 2)
      const submit = only("troupe.submit", id)
      const dispatches = spansOf("troupe.dispatch", id)
      const attempts = spansOf("troupe.attempt", id).sort((a, b) => Number(a.attributes["task.attempt"]) - Number(b.attributes["task.attempt"]))
      expect(dispatches.length).toBe(2)
      expect(attempts.map((a) => a.attributes["task.attempt"])).toStrictEqual([1, 2])
      for (const d of dispatches) expect(ids(d).traceId).toBe(ids(submit).traceId)
      expect(attempts.map((a) => a.status.code === ERROR)).toStrictEqual([true, false])
      expect(attempts[0]!.events.some((e) => e.name === "exception")).toBe(true)
      expect(attempts[0]!.attributes["task.error"]).toBe("TaskDefect")
    }))

  it.effect("an attempt whose worker thread crashed still has its span, made on the main thread, with the error", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(Crash, { n: 1 })
      yield* Effect.flip(queue.await(Crash, id))
      // Crash isolation may first give the task back (that dispatch ends "pending") and run it
      // again alone: the dispatch that failed it is the one that counts.
      yield* Effect.repeat(
        Effect.sync(() => spansOf("troupe.dispatch", id).some((s) => s.attributes["task.status"] === "failed")),
        Schedule.recurUntil((done: boolean) => done).pipe(Schedule.addDelay(() => "10 millis"))
      )
      const dispatch = spansOf("troupe.dispatch", id).find((s) => s.attributes["task.status"] === "failed")!
      // Every dispatch that crashed a thread has its attempt span; the last one failed the task.
      const attempts = spansOf("troupe.attempt", id)
      expect(attempts.length).toBe(spansOf("troupe.dispatch", id).length)
      const attempt = attempts.find((a) => a.parentSpanContext?.spanId === ids(dispatch).spanId)!
      expect(ids(attempt).traceId).toBe(ids(dispatch).traceId)
      expect(attempt.status.code).toBe(ERROR)
      expect(attempt.attributes).toMatchObject({ "task.id": id, "task.type": "crash", "task.attempt": 1, "task.error": "WorkerCrashed" })
    }))

  it.effect("a fiber-execution task's attempt span is the dispatch span's child", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const id = yield* queue.submit(FiberEcho, { n: 3 })
      expect(yield* queue.await(FiberEcho, id)).toStrictEqual({ n: 3 })
      yield* dispatched(id)
      const dispatch = only("troupe.dispatch", id)
      const attempt = only("troupe.attempt", id)
      expect(ids(attempt).traceId).toBe(ids(dispatch).traceId)
      expect(attempt.parentSpanContext?.spanId).toBe(ids(dispatch).spanId)
      expect(attempt.attributes).toMatchObject({ "task.id": id, "task.type": "fiberEcho", "task.attempt": 1, "task.priority": 10 })
      expect(ids(dispatch).traceId).toBe(ids(only("troupe.submit", id)).traceId)
    }))
})

describe("Trace", () => {
  it("encodes and parses W3C traceparents, rejecting malformed ones", () => {
    const ref = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: true }
    const encoded = Trace.encode(ref)
    expect(encoded).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    expect(Trace.parse(encoded!).pipe((o) => (o._tag === "Some" ? o.value : undefined))).toStrictEqual(ref)
    expect(Trace.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").pipe((o) => o._tag === "Some" && o.value.sampled)).toBe(false)
    for (
      const bad of [
        "",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "00-xyz7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
      ]
    ) expect(Trace.parse(bad)._tag, bad).toBe("None")
    expect(Trace.encode({ traceId: "nope", spanId: "b7ad6b7169203331", sampled: true })).toBeUndefined()
  })
})
