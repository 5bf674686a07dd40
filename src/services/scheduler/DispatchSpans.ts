import * as Arr from "effect/Array"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { Outcome } from "../../domain/Outcome.js"
import type { Claimed } from "../../domain/Task.js"
import * as Trace from "../../domain/Trace.js"
import * as AttemptSpan from "../../workers/AttemptSpan.js"

/**
 * `troupe.dispatch` spans: one per claimed task, from the claim until its outcome is committed,
 * a child of the submit's span (the traceparent stored with the task, so a retry or a dispatch
 * after a restart continues the submitter's trace). The task handed to the executor carries the
 * dispatch span's traceparent instead, so the attempt's span — in a worker thread or a fiber —
 * is the dispatch span's child. Created only when tracing is on.
 */
export interface Traced {
  readonly batch: NonEmptyReadonlyArray<Claimed>
  readonly spans: Map<string, Tracer.Span>
  readonly tracer: Tracer.Tracer
}

export const NAME = "troupe.dispatch"

export const start = (claimed: NonEmptyReadonlyArray<Claimed>): Effect.Effect<Traced> =>
  Effect.tracerWith((tracer) =>
    Effect.map(Clock.currentTimeNanos, (now) => {
      const spans = new Map<string, Tracer.Span>()
      const batch = Arr.map(claimed, (task): Claimed => {
        const parent = task.traceParent === null ? Option.none() : Trace.parse(task.traceParent)
        const span = Trace.startTaskSpan(tracer, NAME, parent, task, now)
        spans.set(task.id, span)
        return { ...task, traceParent: Trace.encode(span) ?? null }
      })
      return { batch, spans, tracer }
    })
  )

/** Ends the spans of tasks whose outcome was just committed (`status`: what the task became). */
export const committed = (traced: Traced, ended: ReadonlyArray<{ readonly id: string; readonly status: string }>) =>
  Effect.map(Clock.currentTimeNanos, (now) => {
    for (const { id, status } of ended) {
      const span = traced.spans.get(id)
      if (span === undefined) continue
      span.attribute("task.status", status)
      span.end(now, Exit.void)
      traced.spans.delete(id)
    }
  })

/** A worker thread that died took its attempt's span with it (spans leave a thread in its chunks). */
const lostWithThread = (o: Outcome): boolean =>
  o._tag === "Failed" && (o.error._tag === "WorkerCrashed" || o.error._tag === "WorkerOutOfMemory")

/**
 * Records the outcomes on the spans (before the commit). For an attempt whose thread crashed,
 * an attempt span is made here, from the dispatch's start to now, so the trace still shows the
 * attempt and why it failed.
 */
export const outcomes = (traced: Traced, outcomes: ReadonlyArray<Outcome>) =>
  Effect.map(Clock.currentTimeNanos, (now) => {
    for (const o of outcomes) {
      const span = traced.spans.get(o.id)
      if (span === undefined) continue
      span.attribute("task.outcome", o._tag)
      if (!lostWithThread(o)) continue
      const task = traced.batch.find((t) => t.id === o.id)
      if (task === undefined) continue
      const parent = Option.some({ traceId: span.traceId, spanId: span.spanId, sampled: span.sampled })
      const startedAt = span.status._tag === "Started" ? span.status.startTime : now
      AttemptSpan.end(Trace.startTaskSpan(traced.tracer, AttemptSpan.NAME, parent, task, startedAt), o, now)
    }
  })

/** Ends what is left when the batch ends (interrupted, not committed, stale). */
export const endAll = (traced: Traced, exit: Exit.Exit<unknown, unknown>) =>
  Effect.map(Clock.currentTimeNanos, (now) => {
    for (const span of traced.spans.values()) span.end(now, exit)
    traced.spans.clear()
  })
