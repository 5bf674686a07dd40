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
      return { batch, spans }
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

/** Records the outcomes on the spans (before the commit). */
export const outcomes = (traced: Traced, outcomes: ReadonlyArray<Outcome>): void => {
  for (const o of outcomes) traced.spans.get(o.id)?.attribute("task.outcome", o._tag)
}

/** Ends what is left when the batch ends (interrupted, not committed, stale). */
export const endAll = (traced: Traced, exit: Exit.Exit<unknown, unknown>) =>
  Effect.map(Clock.currentTimeNanos, (now) => {
    for (const span of traced.spans.values()) span.end(now, exit)
    traced.spans.clear()
  })
