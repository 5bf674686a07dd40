/** One worker thread as the pool sees it (stats and health). */
export interface WorkerStats {
  /** Slot number in the pool (stable across replacements). */
  readonly slot: number
  /** Thread generation in the slot: 0 for the first, +1 per replacement. */
  readonly generation: number
  /**
   * "busy": running a request (however long its handler computes); "stale": idle yet silent
   * (its event loop is blocked outside any task); "starting": a thread is being started or
   * replaced; "failed": the last start failed (retried), see `startError`.
   */
  readonly state: "starting" | "failed" | "idle" | "busy" | "stale"
  /** Why the slot's thread could not be started, while it has none. */
  readonly startError: string | null
  /** When the current thread started, epoch ms. */
  readonly startedAt: number
  /** Times the slot's thread was recycled (after N tasks, or past the soft heap limit). */
  readonly recycled: number
  /** Attempts that ended on this slot (any outcome), since the pool started. */
  readonly tasksDone: number
  /** Attempts that failed on this slot, since the pool started. */
  readonly failures: number
  /** The task running now, if any. */
  readonly currentTask: string | null
  /** Heap used by the thread at its last report, MiB. */
  readonly heapUsedMb: number | null
  /** When the thread last reported, epoch ms. */
  readonly lastSeenAt: number | null
}
