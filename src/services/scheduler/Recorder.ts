/** One attempt that ended in this process. */
export interface Sample {
  readonly at: number
  readonly runMs: number
  readonly waitMs: number
  readonly ok: boolean
}

/**
 * A sliding window of ended attempts and store errors, for throughput, run/wait times and
 * health. Bounded: samples older than the window, or past `capacity`, are dropped.
 */
export class Recorder {
  private samples: Array<Sample> = []
  private storeErrorTimes: Array<number> = []

  constructor(readonly windowMs: number, readonly capacity = 10_000) {}

  record(sample: Sample): void {
    this.samples.push(sample)
    if (this.samples.length > this.capacity * 2) this.samples = this.samples.slice(-this.capacity)
  }

  storeError(at: number): void {
    this.storeErrorTimes.push(at)
    if (this.storeErrorTimes.length > 1000) this.storeErrorTimes = this.storeErrorTimes.slice(-1000)
  }

  /** The samples and store errors of the window ending at `now` (a read: stats may call it from any fiber). */
  window(now: number): { readonly samples: ReadonlyArray<Sample>; readonly storeErrors: number } {
    const since = now - this.windowMs
    return {
      samples: this.samples.filter((s) => s.at > since).slice(-this.capacity),
      storeErrors: this.storeErrorTimes.filter((t) => t > since).length
    }
  }
}
