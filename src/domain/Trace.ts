import * as Context from "effect/Context"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"

// Trace context as it is stored with a task and crosses the worker-thread boundary: the W3C
// `traceparent` header value (https://www.w3.org/TR/trace-context/), and the shape of a span
// finished in a worker thread, forwarded to the main thread's exporter.

/** The ids a traceparent carries. */
export interface SpanRef {
  readonly traceId: string
  readonly spanId: string
  readonly sampled: boolean
}

// Checked by hand, not with regular expressions: every dispatch and attempt parses one
// (bench/telemetry.ts).

/** Lowercase hex of exactly `length` characters; `nonZero`: not all zeros. */
const isHex = (s: string, length: number, nonZero: boolean): boolean => {
  if (s.length !== length) return false
  let zero = true
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
    if (c !== 48) zero = false
  }
  return !(nonZero && zero)
}

/** Whether the ids are valid (lowercase hex of the right length, not all zeros). */
export const isValid = (traceId: string, spanId: string): boolean => isHex(traceId, 32, true) && isHex(spanId, 16, true)

/** `00-<trace id>-<span id>-<flags>`; undefined when the ids are not valid. */
export const encode = (span: SpanRef): string | undefined =>
  isValid(span.traceId, span.spanId) ? `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}` : undefined

/**
 * Parses a traceparent. Version 00 must have exactly four fields; a later version may add
 * fields after the flags (the spec says to read the first four); version ff is invalid.
 */
export const parse = (value: string): Option.Option<SpanRef> => {
  const parts = value.trim().toLowerCase().split("-")
  const [version, traceId, spanId, flags] = parts
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) return Option.none()
  if (!isHex(version, 2, false) || version === "ff" || (version === "00" && parts.length !== 4)) return Option.none()
  if (!isHex(flags, 2, false) || !isValid(traceId, spanId)) return Option.none()
  return Option.some({ traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 })
}

/** What a task's spans say about it (dispatch and attempt spans carry the same attributes). */
export interface TaskAttributes {
  readonly id: string
  readonly type: string
  readonly attempt: number
  readonly priority: number
}

/** Starts a span about a task, a child of `parent` (a span of another thread or process) if any. */
export const startTaskSpan = (
  tracer: Tracer.Tracer,
  name: string,
  parent: Option.Option<SpanRef>,
  task: TaskAttributes,
  startNanos: bigint
): Tracer.Span => {
  const span = tracer.span(
    name,
    Option.map(parent, (ref): Tracer.AnySpan => Tracer.externalSpan(ref)),
    Context.empty(),
    [],
    startNanos,
    "internal"
  )
  span.attribute("task.id", task.id)
  span.attribute("task.type", task.type)
  span.attribute("task.attempt", task.attempt)
  span.attribute("task.priority", task.priority)
  return span
}

/** A stored traceparent: checked on the way in, so a bad one is never stored. */
export const TraceParent = Schema.String.pipe(
  Schema.filter((s) => Option.isSome(parse(s)), { message: () => "a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)" })
)

/** High-resolution time as OpenTelemetry has it: [seconds, nanoseconds] since the epoch. */
export const HrTime = Schema.Tuple(Schema.Number, Schema.Number)
export type HrTime = typeof HrTime.Type

export const SpanKind = Schema.Literal("internal", "server", "client", "producer", "consumer")
export type SpanKind = typeof SpanKind.Type

/** Attribute values are primitives (or arrays of them) by the time they are recorded. */
export const Attributes = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** A span that ended in a worker thread, with the ids it had there (so parents still match). */
export const FinishedSpan = Schema.Struct({
  name: Schema.String,
  traceId: Schema.String,
  spanId: Schema.String,
  parentSpanId: Schema.NullOr(Schema.String),
  sampled: Schema.Boolean,
  kind: SpanKind,
  start: HrTime,
  end: HrTime,
  attributes: Attributes,
  status: Schema.Literal("unset", "ok", "error"),
  statusMessage: Schema.NullOr(Schema.String),
  events: Schema.Array(Schema.Struct({ name: Schema.String, time: HrTime, attributes: Attributes }))
})
export type FinishedSpan = typeof FinishedSpan.Type

/**
 * FinishedSpan as it crosses from a worker thread: checked only for being an object. The
 * thread built it from its own recorder (structured clone keeps its shape); decoding every
 * field with the full schema cost more than the span itself (bench/telemetry.ts).
 */
export const FinishedSpanWire: Schema.Schema<FinishedSpan> = Schema.declare(
  (u: unknown): u is FinishedSpan => typeof u === "object" && u !== null && "spanId" in u && "traceId" in u,
  { identifier: "FinishedSpan" }
)

const BILLION = BigInt(1_000_000_000)

/** Effect's clock nanoseconds as [seconds, nanoseconds]. */
export const hrTime = (nanos: bigint): HrTime => [Number(nanos / BILLION), Number(nanos % BILLION)]
