import * as Data from "effect/Data"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type * as Deferred from "effect/Deferred"
import type { Claimed, ReadyRef } from "../../domain/Task.js"
import type { StoreError } from "../../domain/TaskErrors.js"
import type { Executor } from "../pool/Executor.js"
import type { Permit } from "../resources/ResourceGovernor.js"
import type { Change, Pauses } from "../store/TaskStore.js"
import type { Outcomes } from "./Plan.js"
import type { Sample } from "./Recorder.js"

/** A batch on its way through an executor, as the dispatcher sent it. */
export interface Sent {
  readonly executor: Executor
  readonly tasks: NonEmptyReadonlyArray<Claimed>
  readonly permit: Permit | undefined
}

/** What committing a batch's outcomes did, for the dispatcher's books (nothing is mutated by the batch). */
export interface Settled extends Outcomes {
  readonly samples: ReadonlyArray<Sample>
  /** Dependents unblocked or failed in the same transactions. */
  readonly cascade: ReadonlyArray<Change>
  readonly retrying: boolean
}

/** Where a sender that waits hears that its command was applied (or why it failed). */
export type Done = Deferred.Deferred<void, StoreError> | undefined

/**
 * Everything that changes the dispatch state arrives as one of these on the dispatcher's queue,
 * and only the dispatcher (one fiber) applies it: callers, batch fibers, timers and the
 * maintenance loops send, they never mutate.
 */
export type Command = Data.TaggedEnum<{
  /** Look again; with `storeChanged`, the store may hold ready work the mailbox does not. */
  Wake: { readonly storeChanged: boolean }
  /** Tasks became ready in this process (in-process submit). */
  Ready: { readonly refs: ReadonlyArray<ReadyRef>; readonly done: Done }
  /**
   * Durable changes made outside the dispatcher (control, recoveries, a batch's cascade), and
   * actor keys whose attempt ended: published, and what became ready is scheduled.
   */
  Changed: {
    readonly changes: ReadonlyArray<Change>
    readonly endedKeys: ReadonlyArray<string>
    readonly done: Done
  }
  /** The executor answered the batch: its room is back while the outcomes commit. */
  Answered: { readonly sent: Sent }
  /** The batch's attempts have stopped: they leave the books (settled unless not committed). */
  Ended: { readonly sent: Sent; readonly settled: Settled | undefined; readonly interrupted: boolean }
  /** Room may have opened on this executor (a worker started, a batch ended). */
  RoomOpened: { readonly executor: Executor }
  /** A rate-limit bucket held back until now may start tasks again. */
  RateOpened: { readonly bucket: string }
  /** Memory pressure reopened admission. */
  Admitting: {}
  /** The pause gates as just read from the store. */
  Paused: { readonly pauses: Pauses; readonly done: Done }
  /** Shutting down: claim nothing more. */
  Stop: { readonly done: Done }
}>

export const Command = Data.taggedEnum<Command>()
