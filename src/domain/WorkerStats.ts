import * as Schema from "effect/Schema"

/** One worker thread as the pool sees it (stats and health). */
export const WorkerStats = Schema.Struct({
  /** Slot number in the pool (stable across replacements). */
  slot: Schema.Number,
  /** Thread generation in the slot: 0 for the first, +1 per replacement. */
  generation: Schema.Number,
  /**
   * "busy": running a request (however long its handler computes); "stale": idle yet silent
   * (its event loop is blocked outside any task); "starting": a thread is being started or
   * replaced; "failed": the last start failed (retried), see `startError`.
   */
  state: Schema.Literal("starting", "failed", "idle", "busy", "stale"),
  /** Why the slot's thread could not be started, while it has none. */
  startError: Schema.NullOr(Schema.String),
  /** When the current thread started, epoch ms. */
  startedAt: Schema.Number,
  /** Times the slot's thread was recycled (after N tasks, or past the soft heap limit). */
  recycled: Schema.Number,
  /** Attempts that ended on this slot (any outcome), since the pool started. */
  tasksDone: Schema.Number,
  /** Attempts that failed on this slot, since the pool started. */
  failures: Schema.Number,
  /** The task running now, if any. */
  currentTask: Schema.NullOr(Schema.String),
  /** Heap used by the thread at its last report, MiB. */
  heapUsedMb: Schema.NullOr(Schema.Number),
  /** When the thread last reported, epoch ms. */
  lastSeenAt: Schema.NullOr(Schema.Number)
})
export type WorkerStats = typeof WorkerStats.Type
