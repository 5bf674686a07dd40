import type { Attributes, HrTime, SpanContext, SpanKind, SpanStatusCode } from "@opentelemetry/api"
import type { Resource } from "@opentelemetry/resources"
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base"
import type * as Trace from "../domain/Trace.js"

// Spans finished in worker threads, re-emitted on the main thread. The thread recorded them
// with its own ids (children of the dispatch span made here); they go to the span processors
// as ReadableSpans with those ids, so the exporter sees the real parent/child relation.
// Only types are imported: nothing of the SDK loads unless telemetry is on.

const kinds: Record<Trace.SpanKind, SpanKind> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 }
const codes: Record<Trace.FinishedSpan["status"], SpanStatusCode> = { unset: 0, ok: 1, error: 2 }

const duration = (start: Trace.HrTime, end: Trace.HrTime): HrTime => {
  let seconds = end[0] - start[0]
  let nanos = end[1] - start[1]
  if (nanos < 0) {
    seconds -= 1
    nanos += 1_000_000_000
  }
  return [seconds, nanos]
}

const scope = { name: "troupe" }

/** The recorded span as the SDK's ReadableSpan. */
export const toReadable = (span: Trace.FinishedSpan, resource: Resource): ReadableSpan => {
  const traceFlags = span.sampled ? 1 : 0
  const context: SpanContext = { traceId: span.traceId, spanId: span.spanId, traceFlags }
  const status = span.statusMessage === null ? { code: codes[span.status] } : { code: codes[span.status], message: span.statusMessage }
  return {
    name: span.name,
    kind: kinds[span.kind],
    spanContext: () => context,
    ...(span.parentSpanId === null
      ? {}
      : { parentSpanContext: { traceId: span.traceId, spanId: span.parentSpanId, traceFlags, isRemote: true } }),
    startTime: [span.start[0], span.start[1]],
    endTime: [span.end[0], span.end[1]],
    status,
    attributes: span.attributes as Attributes,
    links: [],
    events: span.events.map((e) => ({ name: e.name, time: [e.time[0], e.time[1]], attributes: e.attributes as Attributes })),
    duration: duration(span.start, span.end),
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0
  }
}

/** Hands finished spans to every processor, as the SDK does when a span ends. */
export const exporter = (processors: ReadonlyArray<SpanProcessor>, resource: Resource) =>
(spans: ReadonlyArray<Trace.FinishedSpan>): void => {
  if (processors.length === 0) return
  for (const span of spans) {
    const readable = toReadable(span, resource)
    for (const processor of processors) processor.onEnd(readable)
  }
}
