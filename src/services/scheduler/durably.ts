import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { StoreError } from "../../domain/TaskErrors.js"

// Writes that must land although the store is away for a moment (a restart, a failover,
// connections cut): attempts' outcomes, and the give-back of a claim whose answer was lost.

/**
 * Whether a store error may pass by itself: the connection or the server away (SQLSTATE classes
 * 08, 40, 53, 57; a lock timeout, 55P03; a network error's code), or SQLite busy. Not: the store
 * closed, or data the database rejects (those fail the same way every time).
 */
export const transient = (e: StoreError): boolean => {
  if (e.message.includes("is closed")) return false
  const code = (e.cause as { readonly code?: unknown } | undefined)?.code
  if (typeof code !== "string") return true
  return /^(08|40|53|57)/.test(code) || code === "55P03" || /^E[A-Z]+$/.test(code) || /^SQLITE_(BUSY|LOCKED)/.test(code)
}

/**
 * `write` again, backing off up to every 2 s, while the error is transient and for at most
 * `withinMs` (the lease: past it, what the write guards has been taken over). Each write is
 * atomic and guarded by the attempt's token, so one that failed changed nothing, and one that
 * lands after the lease was taken over changes nothing.
 */
export const durably = <A>(what: string, withinMs: number, write: Effect.Effect<A, StoreError>) =>
  write.pipe(
    Effect.tapError((e) => Effect.logWarning(`could not ${what} (${e.message})${transient(e) ? "; trying again" : ""}`)),
    Effect.retry({
      schedule: Schedule.exponential(Duration.millis(50)).pipe(
        Schedule.either(Schedule.spaced(Duration.seconds(2))),
        Schedule.upTo(Duration.millis(withinMs))
      ),
      while: transient
    })
  )
