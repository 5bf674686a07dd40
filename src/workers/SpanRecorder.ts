/**
 * A small tracer for worker threads. A thread has no exporter of its own (one per thread would
 * multiply connections and batching): it records each finished span — ids, parent id, name,
 * times, attributes, status, events — and hands it to `sink`, which sends it to the main
 * thread in the activity chunks. The main thread re-emits it to the configured OpenTelemetry
 * span processors with its original ids, so parent and child still match across the boundary.
 * Used only when tracing is on: a thread without it creates no spans for attempts.
 */
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import { randomFillSync } from "node:crypto"
import * as Trace from "../domain/Trace.js"

// Ids come from a pooled buffer of random bytes (one syscall per 512 ids). A documented bridge:
// span ids are not part of the runtime's logic, so they need not come from Effect's Random.
const pool = Buffer.alloc(4096)
let offset = pool.length
const randomHex = (bytes: number): string => {
  if (offset + bytes > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const hex = pool.toString("hex", offset, offset + bytes)
  offset += bytes
  return hex
}

const attributeValue = (value: unknown): unknown => {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return value
    case "bigint":
      return value.toString()
    default:
      if (Array.isArray(value) && value.every((v) => ["string", "number", "boolean"].includes(typeof v))) return value
      try {
        return JSON.stringify(value) ?? String(value)
      } catch {
        return String(value)
      }
  }
}

const toRecord = (attributes: Iterable<readonly [string, unknown]>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of attributes) out[k] = attributeValue(v)
  return out
}

class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled: boolean
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink>
  status: Tracer.SpanStatus
  private events: Array<Trace.FinishedSpan["events"][number]> = []

  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    private readonly sink: (span: Trace.FinishedSpan) => void
  ) {
    this.links = [...links]
    this.traceId = Option.isSome(parent) ? parent.value.traceId : randomHex(16)
    this.spanId = randomHex(8)
    this.sampled = Option.isSome(parent) ? parent.value.sampled : true
    this.status = { _tag: "Started", startTime }
  }

  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }

  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push({ name, time: Trace.hrTime(startTime), attributes: attributes === undefined ? {} : toRecord(Object.entries(attributes)) })
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    const startTime = this.status.startTime
    this.status = { _tag: "Ended", startTime, endTime, exit }
    if (!this.sampled) return
    let status: Trace.FinishedSpan["status"] = "ok"
    let statusMessage: string | null = null
    if (exit._tag === "Failure") {
      if (Cause.isInterruptedOnly(exit.cause)) {
        this.attributes.set("status.interrupted", true)
      } else {
        // As @effect/opentelemetry records it: status error and an `exception` event.
        const error = Cause.prettyErrors(exit.cause)[0]
        status = "error"
        statusMessage = error?.message ?? "failed"
        this.events.push({
          name: "exception",
          time: Trace.hrTime(endTime),
          attributes: {
            "exception.type": error?.name ?? "Error",
            "exception.message": statusMessage,
            "exception.stacktrace": Cause.pretty(exit.cause)
          }
        })
      }
    }
    this.sink({
      name: this.name,
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: Option.isSome(this.parent) ? this.parent.value.spanId : null,
      sampled: this.sampled,
      kind: this.kind,
      start: Trace.hrTime(startTime),
      end: Trace.hrTime(endTime),
      attributes: toRecord(this.attributes),
      status,
      statusMessage,
      events: this.events
    })
  }
}

/** A tracer whose finished spans go to `sink`. */
export const make = (sink: (span: Trace.FinishedSpan) => void): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => new RecordedSpan(name, parent, context, links, startTime, kind, sink),
    context: (f) => f()
  })
