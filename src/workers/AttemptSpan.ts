/**
 * The `troupe.attempt` span of one task, started where the attempt runs (the worker thread, or
 * the fiber for in-process tasks) as a child of the scheduler's dispatch span, whose W3C
 * traceparent the task carries. It ends with the attempt's Outcome: a failure (a typed error,
 * a timeout, a defect) marks the span as an error with the exception recorded; a cancel or an
 * abandoned attempt as interrupted.
 */
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import type * as Outcome from "../domain/Outcome.js"
import * as Trace from "../domain/Trace.js"
import type { WireTask } from "./Protocol.js"

export const NAME = "troupe.attempt"

/** Starts the span; undefined when the task carries no (valid) trace context. */
export const start = (tracer: Tracer.Tracer, task: WireTask, startNanos: bigint): Tracer.Span | undefined => {
  if (task.trace === null) return undefined
  const parent = Trace.parse(task.trace)
  if (Option.isNone(parent)) return undefined
  return Trace.startTaskSpan(tracer, NAME, parent, task, startNanos)
}

/** How an Outcome reads as the span's exit. */
export const exitOf = (outcome: Outcome.Outcome): Exit.Exit<unknown, unknown> => {
  switch (outcome._tag) {
    case "Succeeded":
      return Exit.void
    case "Abandoned":
      return Exit.interrupt(FiberId.none)
    case "Failed":
      return outcome.error._tag === "TaskDefect" && outcome.error.reason === "interrupted"
        ? Exit.interrupt(FiberId.none)
        : Exit.fail(outcome.error)
  }
}

/** Ends the span with the outcome. */
export const end = (span: Tracer.Span, outcome: Outcome.Outcome, endNanos: bigint): void => {
  if (outcome._tag === "Failed") span.attribute("task.error", outcome.error._tag)
  span.end(endNanos, exitOf(outcome))
}
