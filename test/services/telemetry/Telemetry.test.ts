import { describe, expect, it } from "@effect/vitest"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as TaskDefinition from "../../../src/domain/TaskDefinition.js"
import * as Telemetry from "../../../src/runtime/Telemetry.js"
import * as TroupeTest from "../../../src/runtime/TroupeTest.js"
import * as Metrics from "../../../src/services/scheduler/Metrics.js"
import { Scheduler } from "../../../src/services/scheduler/Scheduler.js"
import { TaskQueue } from "../../../src/services/queue/TaskQueue.js"
import * as Handlers from "../../../src/workers/Handlers.js"
import { StoreError } from "../../../src/domain/TaskErrors.js"
import { compose, fiberExecutors } from "../../../src/runtime/compose.js"
import * as TroupeConfig from "../../../src/runtime/TroupeConfig.js"
import * as SystemMetrics from "../../../src/services/resources/SystemMetrics.js"
import { TaskStore } from "../../../src/services/store/TaskStore.js"
import * as TaskStoreSqlite from "../../../src/services/store/TaskStoreSqlite.js"
import * as Schedule from "effect/Schedule"

class Nope extends Schema.TaggedError<Nope>()("Nope", { message: Schema.String }) {}

// Type names of their own: Effect's metric registry is global to the process.
const Ok = TaskDefinition.make("metricsOk", { payload: Schema.Struct({ n: Schema.Number }), success: Schema.Number })
const Bad = TaskDefinition.make("metricsBad", { payload: Schema.Struct({}), failure: Nope, retry: { maxAttempts: 1 } })
const handlers = Handlers.make(
  Ok.handler(({ n }) => Effect.succeed(n)),
  Bad.handler(() => Effect.fail(new Nope({ message: "no" })))
)

const byType = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, type: string) =>
  Metric.value(Metric.tagged(metric, "task.type", type))
const counted = (metric: typeof Metrics.completed, type: string) => Effect.map(byType(metric, type), (s) => s.count)

/** Until the scheduler has nothing in flight (its fibers yield with setImmediate: let them run). */
const settled = Effect.gen(function*() {
  const scheduler = yield* Scheduler
  while ((yield* scheduler.inFlight) > 0) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
})

/** A span processor that keeps what ended (an in-memory exporter is emptied by a shutdown). */
const keeping = () => {
  const ended: Array<ReadableSpan> = []
  const keep: SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => { ended.push(span) },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve()
  }
  return { ended, keep }
}

const fromEnv = (entries: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

describe("Telemetry metrics", () => {
  it.effect("counters and histograms move as tasks complete and fail; gauges sample depth and running", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const before = {
        completed: yield* counted(Metrics.completed, "metricsOk"),
        failed: yield* counted(Metrics.failed, "metricsBad"),
        attempts: yield* counted(Metrics.attemptsFailed, "metricsBad"),
        runs: (yield* byType(Metrics.runTime, "metricsOk")).count,
        waits: (yield* byType(Metrics.waitTime, "metricsBad")).count
      }
      const oks = yield* queue.submitMany([1, 2, 3].map((n) => ({ definition: Ok, payload: { n } })))
      const bads = yield* queue.submitMany([1, 2].map(() => ({ definition: Bad, payload: {} })))
      yield* Effect.forEach(oks, (id) => queue.await(Ok, id))
      yield* Effect.forEach(bads, (id) => Effect.flip(queue.await(Bad, id)))
      // An await can see the outcome in the store before the batch's bookkeeping ends.
      yield* settled
      expect(yield* counted(Metrics.completed, "metricsOk")).toBe(before.completed + 3)
      expect(yield* counted(Metrics.failed, "metricsBad")).toBe(before.failed + 2)
      expect(yield* counted(Metrics.attemptsFailed, "metricsBad")).toBe(before.attempts + 2)
      expect((yield* byType(Metrics.runTime, "metricsOk")).count).toBe(before.runs + 3)
      expect((yield* byType(Metrics.waitTime, "metricsBad")).count).toBe(before.waits + 2)
      // Gauges are sampled every second (sampleEvery below).
      yield* TestClock.adjust("1 second")
      yield* Effect.yieldNow()
      const depth = (status: string) => Effect.map(Metric.value(Metric.tagged(Metrics.queueDepth, "status", status)), (s) => s.value)
      expect(yield* depth("completed")).toBe(3)
      expect(yield* depth("failed")).toBe(2)
      expect(yield* depth("pending")).toBe(0)
      expect((yield* Metric.value(Metrics.running)).value).toBe(0)
    }).pipe(Effect.provide(TroupeTest.layer(handlers, {}, { telemetry: { metrics: true, sampleEvery: "1 second" } }))))

  it.effect("metrics off: nothing is recorded", () =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const before = yield* counted(Metrics.completed, "metricsOk")
      const id = yield* queue.submit(Ok, { n: 1 })
      yield* queue.await(Ok, id)
      expect(yield* counted(Metrics.completed, "metricsOk")).toBe(before)
    }).pipe(Effect.provide(TroupeTest.layer(handlers))))
})

describe("Telemetry tracing", () => {
  // Read the exporter before the layer is released: shutting the provider down empties it.
  const run = (exporter: InMemorySpanExporter) =>
    Effect.gen(function*() {
      const queue = yield* TaskQueue
      const ids = yield* queue.submitMany([1, 2, 3].map((n) => ({ definition: Ok, payload: { n } })))
      yield* Effect.forEach(ids, (id) => queue.await(Ok, id))
      const bad = yield* queue.submit(Bad, {})
      yield* Effect.flip(queue.await(Bad, bad))
      return exporter.getFinishedSpans().map((s) => s.name)
    })

  it.effect("off (the default): the runtime makes no spans, even under the app's own OpenTelemetry tracer", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      const names = yield* Effect.gen(function*() {
        // The app's tracer works: its own span is exported.
        yield* Effect.void.pipe(Effect.withSpan("app.span"))
        return yield* run(exporter).pipe(Effect.provide(TroupeTest.layer(handlers)))
      }).pipe(
        Effect.provide(NodeSdk.layer(() => ({ resource: { serviceName: "app" }, spanProcessor: new SimpleSpanProcessor(exporter) })))
      )
      expect(names).toStrictEqual(["app.span"])
    }))

  it.effect("a span processor with tracing: false records nothing; tracing on records submit, dispatch and attempt", () =>
    Effect.gen(function*() {
      const off = new InMemorySpanExporter()
      const none = yield* run(off).pipe(
        Effect.provide(TroupeTest.layer(handlers, {}, { telemetry: { spanProcessor: new SimpleSpanProcessor(off), tracing: false } }))
      )
      expect(none).toStrictEqual([])
      const on = new InMemorySpanExporter()
      const names = yield* run(on).pipe(Effect.provide(TroupeTest.layer(handlers, {}, { telemetry: { spanProcessor: new SimpleSpanProcessor(on) } })))
      expect(names.filter((n) => n === "troupe.submit").length).toBe(2)
      expect(names.filter((n) => n === "troupe.dispatch").length).toBe(4)
      expect(names.filter((n) => n === "troupe.attempt").length).toBe(4)
    }))

  it.effect("an attempt cut short by shutdown still ends its span and its dispatch span", () =>
    Effect.gen(function*() {
      const { ended, keep } = keeping()
      const started = yield* Deferred.make<void>()
      const Stuck = TaskDefinition.make("telemetryStuck", { payload: Schema.Struct({}) })
      const stuck = Handlers.make(Stuck.handler(() => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
      const id = yield* Effect.gen(function*() {
        const queue = yield* TaskQueue
        const id = yield* queue.submit(Stuck, {})
        yield* Deferred.await(started)
        return id
      }).pipe(Effect.provide(TroupeTest.layer(stuck, {}, { telemetry: { spanProcessor: keep } })))
      const ofTask = ended.filter((s) => s.attributes["task.id"] === id).map((s) => s.name).sort()
      expect(ofTask).toStrictEqual(["troupe.attempt", "troupe.dispatch", "troupe.submit"])
    }))

  it.live("a dispatch whose outcome cannot be committed ends its span with an error", () =>
    Effect.gen(function*() {
      const { ended, keep } = keeping()
      // The store (SQLite in memory), except that completing fails (a disk that filled up, say).
      const failingStore = Layer.effect(TaskStore, Effect.map(TaskStore, (store) => ({
        ...store,
        complete: () => Effect.fail(new StoreError({ message: "disk full" }))
      }))).pipe(Layer.provide(TaskStoreSqlite.layerMemory), Layer.orDie)
      // Outcomes are stored again while the attempt's lease lasts: a short one ends the wait.
      const config = { ...TroupeConfig.defaults, gpu: 0, shutdownTimeout: Duration.zero, database: ":memory:", leaseDuration: Duration.millis(300) }
      const runtime = compose(
        config,
        handlers,
        failingStore,
        fiberExecutors(config, handlers),
        SystemMetrics.layerScripted([{}]),
        Telemetry.layer({ spanProcessor: keep })
      )
      const id = yield* Effect.gen(function*() {
        const queue = yield* TaskQueue
        const id = yield* queue.submit(Ok, { n: 1 })
        // Until the dispatch span has ended (a poll, 10 ms apart).
        yield* Effect.repeat(
          Effect.sync(() => ended.some((s) => s.name === "troupe.dispatch" && s.attributes["task.id"] === id)),
          Schedule.recurUntil((done: boolean) => done).pipe(Schedule.addDelay(() => "10 millis"))
        )
        return id
      }).pipe(Effect.provide(runtime))
      const dispatch = ended.find((s) => s.name === "troupe.dispatch" && s.attributes["task.id"] === id)!
      expect(dispatch.status.code).toBe(2)
    }))
})

describe("Telemetry.layerConfig", () => {
  it.effect("off by default; on with an OTLP endpoint; OTEL_SDK_DISABLED and TROUPE_TELEMETRY=off win", () =>
    Effect.gen(function*() {
      expect((yield* fromEnv({})(Telemetry.config)).enabled).toBe(false)
      const on = yield* fromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/", OTEL_SERVICE_NAME: "jobs" })(Telemetry.config)
      expect([on.enabled, on.tracing, on.metrics, on.serviceName]).toStrictEqual([true, true, true, "jobs"])
      expect(on.tracesUrl).toStrictEqual(Option.some("http://127.0.0.1:4318/v1/traces"))
      expect(on.metricsUrl).toStrictEqual(Option.some("http://127.0.0.1:4318/v1/metrics"))
      const traces = yield* fromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/custom" })(Telemetry.config)
      // Each signal follows its own endpoint: traces only here, metrics only there.
      expect([traces.enabled, traces.tracing, traces.metrics, traces.tracesUrl]).toStrictEqual([true, true, false, Option.some("http://collector:4318/custom")])
      const metricsOnly = yield* fromEnv({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://collector:4318/m" })(Telemetry.config)
      expect([metricsOnly.enabled, metricsOnly.tracing, metricsOnly.metrics]).toStrictEqual([true, false, true])
      const disabled = yield* fromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" })(Telemetry.config)
      expect(disabled.enabled).toBe(false)
      const disabledUpper = yield* fromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "TRUE" })(Telemetry.config)
      expect(disabledUpper.enabled).toBe(false)
      const noExporters = yield* fromEnv({ TROUPE_TELEMETRY: "on", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" })(Telemetry.config)
      expect([noExporters.enabled, Telemetry.describe(noExporters)]).toStrictEqual([false, "telemetry: off"])
      const troupeOff = yield* fromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", TROUPE_TELEMETRY: "off" })(Telemetry.config)
      expect(troupeOff.enabled).toBe(false)
      const forced = yield* fromEnv({ TROUPE_TELEMETRY: "on", OTEL_METRICS_EXPORTER: "none" })(Telemetry.config)
      expect([forced.enabled, forced.tracing, forced.metrics, forced.tracesUrl]).toStrictEqual([true, true, false, Option.none()])
      expect(Duration.toMillis(forced.metricExportInterval)).toBe(60_000)
      const bad = yield* Effect.flip(fromEnv({ TROUPE_TELEMETRY: "maybe" })(Telemetry.config))
      expect(String(bad)).toContain("TROUPE_TELEMETRY")
    }))

  it.scoped("the layer: the Telemetry reference is off without configuration, on with it", () =>
    Effect.gen(function*() {
      const settings = (env: Record<string, string>) =>
        Effect.flatMap(Layer.build(Telemetry.layerConfig).pipe(fromEnv(env)), (ctx) =>
          Effect.map(Telemetry.Telemetry.pipe(Effect.provide(ctx)), (s) => [s.tracing, s.metrics]))
      expect(yield* settings({})).toStrictEqual([false, false])
      expect(yield* settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" })).toStrictEqual([false, false])
      expect(yield* settings({ TROUPE_TELEMETRY: "on", OTEL_METRICS_EXPORTER: "none" })).toStrictEqual([true, false])
    }))
})

describe("Telemetry's optional packages", () => {
  // The OpenTelemetry SDK and @effect/opentelemetry are optional peers: an install without them
  // runs with telemetry off, and turning telemetry on without them stops the start with what
  // to install (not a defect).
  it.effect("a package that cannot be loaded is TelemetryUnavailable naming what to install", () =>
    Effect.gen(function*() {
      const missing = "@opentelemetry/not-installed-here"
      const error = yield* Effect.flip(Telemetry.loadOptional("the OpenTelemetry trace exporter", () => import(missing)))
      expect(error._tag).toBe("TelemetryUnavailable")
      expect(error.message).toMatch(/^telemetry is on, but the OpenTelemetry trace exporter cannot be loaded \(.*not-installed-here.*\): install the optional packages with `npm install @effect\/opentelemetry@0\.64\.1 .*@opentelemetry\/sdk-trace-base@2\.12\.1.*`, or turn telemetry off$/)
    }))
})
