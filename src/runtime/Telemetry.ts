/**
 * Telemetry: OpenTelemetry tracing and metrics for the runtime, off by default.
 *
 * `layer` turns it on with span processors and metric readers the app gives (tests: an
 * InMemorySpanExporter); `layerConfig` reads the standard OTEL_* environment variables and
 * exports over OTLP/HTTP. Either provides the Telemetry reference the services check before
 * they create a span or update a metric, the Effect tracer backed by OpenTelemetry, and the
 * Effect Metric producer. When off, nothing of the SDK or the exporters is even loaded: they
 * are imported lazily.
 */
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { off, Telemetry } from "../services/telemetry/Telemetry.js"
import type { Settings } from "../services/telemetry/Telemetry.js"
import * as SpanExport from "./SpanExport.js"

export { off, Telemetry }
export type { Settings }

export interface Options {
  /** Where spans go (e.g. a BatchSpanProcessor over an exporter). */
  readonly spanProcessor?: SpanProcessor | ReadonlyArray<SpanProcessor>
  /** Where metrics go (e.g. a PeriodicExportingMetricReader). */
  readonly metricReader?: MetricReader | ReadonlyArray<MetricReader>
  /** The resource's service.name (default "troupe"). */
  readonly serviceName?: string
  /** Spans for submit, dispatch and attempts (default: on when a span processor is given). */
  readonly tracing?: boolean
  /**
   * Effect Metrics of the queue (default: on when a metric reader is given; on without one,
   * they are only readable through Effect's Metric API).
   */
  readonly metrics?: boolean
  /** How often queue depth and running count are sampled (default 5 seconds). */
  readonly sampleEvery?: Duration.DurationInput
}

const toArray = <A>(x: A | ReadonlyArray<A> | undefined): ReadonlyArray<A> =>
  x === undefined ? [] : Array.isArray(x) ? (x as ReadonlyArray<A>) : [x as A]

/**
 * Telemetry is on but its packages cannot be loaded: the OpenTelemetry SDK and
 * @effect/opentelemetry are optional peers, installed only by those who export telemetry.
 */
export class TelemetryUnavailable extends Data.TaggedError("TelemetryUnavailable")<{ readonly message: string }> {}

/** The optional packages telemetry needs, pinned as package.json's peers. */
export const optionalPackages = [
  "@effect/opentelemetry@0.64.1",
  "@opentelemetry/api@1.9.0",
  "@opentelemetry/resources@2.12.1",
  "@opentelemetry/sdk-trace-base@2.12.1",
  "@opentelemetry/sdk-metrics@2.12.1",
  "@opentelemetry/exporter-trace-otlp-http@0.223.1",
  "@opentelemetry/exporter-metrics-otlp-http@0.223.0"
] as const

/** Imports optional telemetry modules; a missing one is TelemetryUnavailable saying what to install. */
export const loadOptional = <A>(what: string, load: () => Promise<A>): Effect.Effect<A, TelemetryUnavailable> =>
  Effect.tryPromise({
    try: load,
    catch: (e) =>
      new TelemetryUnavailable({
        message: `telemetry is on, but ${what} cannot be loaded (${e instanceof Error ? e.message.split("\n")[0] : String(e)}): ` +
          `install the optional packages with \`npm install ${optionalPackages.join(" ")}\`, or turn telemetry off`
      })
  })

/** Telemetry off: the Reference's default, stated. */
export const layerOff: Layer.Layer<Telemetry> = Layer.succeed(Telemetry, off)

/** Tracing and metrics with the given processors and readers. */
export const layer = (options: Options = {}): Layer.Layer<Telemetry, TelemetryUnavailable> => {
  const processors = toArray(options.spanProcessor)
  const readers = toArray(options.metricReader)
  const tracing = options.tracing ?? processors.length > 0
  const metrics = options.metrics ?? readers.length > 0
  if (!tracing && !metrics) return layerOff
  const sampleEveryMs = Duration.toMillis(Duration.decode(options.sampleEvery ?? "5 seconds"))
  return Layer.unwrapEffect(
    loadOptional("@effect/opentelemetry", () => Promise.all([import("@effect/opentelemetry/NodeSdk"), import("@effect/opentelemetry/Resource")])).pipe(
      Effect.map(([NodeSdk, Resource]) => {
        const sdk = NodeSdk.layer(() => ({
          resource: { serviceName: options.serviceName ?? "troupe" },
          spanProcessor: tracing && processors.length > 0 ? processors : undefined,
          metricReader: metrics && readers.length > 0 ? readers : undefined
        }))
        const settings = Layer.effect(
          Telemetry,
          Effect.map(Resource.Resource, (resource): Settings => ({
            tracing,
            metrics,
            sampleEveryMs,
            exportSpans: SpanExport.exporter(tracing ? processors : [], resource)
          }))
        )
        return Layer.provideMerge(settings, sdk)
      })
    )
  )
}

/** What the environment asks for. */
export interface EnvConfig {
  /** Whether telemetry is on at all. */
  readonly enabled: boolean
  readonly tracing: boolean
  readonly metrics: boolean
  /** OTLP/HTTP endpoints; none: the exporter's default (http://localhost:4318/v1/…). */
  readonly tracesUrl: Option.Option<string>
  readonly metricsUrl: Option.Option<string>
  readonly serviceName: string
  readonly metricExportInterval: Duration.Duration
  readonly sampleEvery: Duration.Duration
}

const optionalString = (name: string) => Config.option(Config.nonEmptyString(name))

const signalUrl = (specific: Option.Option<string>, base: Option.Option<string>, path: string): Option.Option<string> =>
  Option.orElse(specific, () => Option.map(base, (b) => `${b.replace(/\/+$/, "")}/${path}`))

/**
 * Reads the standard variables: traces are on when OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, metrics when OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is, both with TROUPE_TELEMETRY=on; all off when
 * OTEL_SDK_DISABLED=true or TROUPE_TELEMETRY=off (these win). OTEL_TRACES_EXPORTER=none or
 * OTEL_METRICS_EXPORTER=none turn one signal off. OTEL_SERVICE_NAME names the service,
 * OTEL_METRIC_EXPORT_INTERVAL (ms) paces metric export.
 */
export const config: Config.Config<EnvConfig> = Config.all({
  mode: Config.literal("on", "off", "auto")("TROUPE_TELEMETRY").pipe(
    Config.withDefault("auto" as const),
    Config.withDescription("on, off, or auto (on when an OTLP endpoint is configured)")
  ),
  // The OpenTelemetry spec: only "true", case-insensitive, disables; anything else does not.
  disabled: Config.string("OTEL_SDK_DISABLED").pipe(Config.map((s) => s.trim().toLowerCase() === "true"), Config.withDefault(false)),
  endpoint: optionalString("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesEndpoint: optionalString("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  metricsEndpoint: optionalString("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
  tracesExporter: Config.string("OTEL_TRACES_EXPORTER").pipe(Config.withDefault("otlp")),
  metricsExporter: Config.string("OTEL_METRICS_EXPORTER").pipe(Config.withDefault("otlp")),
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("troupe")),
  metricExportInterval: Config.integer("OTEL_METRIC_EXPORT_INTERVAL").pipe(Config.withDefault(60_000)),
  sampleEvery: Config.duration("TROUPE_METRICS_SAMPLE_EVERY").pipe(Config.withDefault(Duration.seconds(5)))
}).pipe(Config.map((c): EnvConfig => {
  // Each signal is on when its endpoint (or the common one) is set, or when forced on; an
  // exporter set to "none" turns its signal off; OTEL_SDK_DISABLED and TROUPE_TELEMETRY=off win.
  const allowed = !c.disabled && c.mode !== "off"
  const wanted = (specific: Option.Option<string>) => c.mode === "on" || Option.isSome(c.endpoint) || Option.isSome(specific)
  const tracing = allowed && wanted(c.tracesEndpoint) && c.tracesExporter.trim().toLowerCase() !== "none"
  const metrics = allowed && wanted(c.metricsEndpoint) && c.metricsExporter.trim().toLowerCase() !== "none"
  return {
    enabled: tracing || metrics,
    tracing,
    metrics,
    tracesUrl: signalUrl(c.tracesEndpoint, c.endpoint, "v1/traces"),
    metricsUrl: signalUrl(c.metricsEndpoint, c.endpoint, "v1/metrics"),
    serviceName: c.serviceName,
    metricExportInterval: Duration.millis(c.metricExportInterval),
    sampleEvery: c.sampleEvery
  }
}))

/** OTLP/HTTP export as `env` says; the exporter modules are imported only now. */
export const layerOtlp = (env: EnvConfig): Layer.Layer<Telemetry, TelemetryUnavailable> => {
  if (!env.enabled || (!env.tracing && !env.metrics)) return layerOff
  return Layer.unwrapEffect(Effect.gen(function*() {
    const processors: Array<SpanProcessor> = []
    const readers: Array<MetricReader> = []
    if (env.tracing) {
      const [{ OTLPTraceExporter }, { BatchSpanProcessor }] = yield* loadOptional("the OpenTelemetry trace exporter", () =>
        Promise.all([import("@opentelemetry/exporter-trace-otlp-http"), import("@opentelemetry/sdk-trace-base")]))
      processors.push(new BatchSpanProcessor(new OTLPTraceExporter(Option.match(env.tracesUrl, { onNone: () => ({}), onSome: (url) => ({ url }) }))))
    }
    if (env.metrics) {
      const [{ OTLPMetricExporter }, { PeriodicExportingMetricReader }] = yield* loadOptional("the OpenTelemetry metrics exporter", () =>
        Promise.all([import("@opentelemetry/exporter-metrics-otlp-http"), import("@opentelemetry/sdk-metrics")]))
      readers.push(new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(Option.match(env.metricsUrl, { onNone: () => ({}), onSome: (url) => ({ url }) })),
        exportIntervalMillis: Duration.toMillis(env.metricExportInterval)
      }))
    }
    return layer({
      spanProcessor: processors,
      metricReader: readers,
      serviceName: env.serviceName,
      tracing: env.tracing,
      metrics: env.metrics,
      sampleEvery: env.sampleEvery
    })
  }))
}

/** Telemetry as the environment configures it (OTEL_*, TROUPE_TELEMETRY); off by default. */
export const layerConfig: Layer.Layer<Telemetry, ConfigError.ConfigError | TelemetryUnavailable> = Layer.unwrapEffect(Effect.map(config, layerOtlp))

/** A one-line description for a start-up banner, e.g. "telemetry: OTLP http://…/v1/traces". */
export const describe = (env: EnvConfig): string => {
  if (!env.enabled) return "telemetry: off"
  const signals = [env.tracing ? "traces" : undefined, env.metrics ? "metrics" : undefined].filter((s) => s !== undefined)
  const url = Option.getOrElse(env.tracing ? env.tracesUrl : env.metricsUrl, () => "http://localhost:4318")
  return `telemetry: ${signals.join(" + ")} over OTLP/HTTP to ${url} (service ${env.serviceName})`
}
