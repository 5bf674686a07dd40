/** One attempt that ended in this process. */
export interface Sample {
  readonly at: number
  readonly runMs: number
  readonly waitMs: number
  readonly ok: boolean
}

/** Attempts that ended in one minute. */
export interface Minute {
  /** The minute's start, epoch ms. */
  readonly at: number
  readonly completed: number
  readonly failed: number
}

const MINUTE = 60_000
/** Minutes of history kept (the dashboard's last hour). */
export const historyMinutes = 60

/**
 * A sliding window of ended attempts and store errors, for throughput, run/wait times and
 * health, and counts per minute over the last hour (charts). Bounded: samples older than the
 * window, or past `capacity`, are dropped; minutes past the hour too.
 */
export class Recorder {
  private samples: Array<Sample> = []
  private storeErrorTimes: Array<number> = []
  private minutes = new Map<number, { completed: number; failed: number }>()

  constructor(readonly windowMs: number, readonly capacity = 10_000) {}

  record(sample: Sample): void {
    this.samples.push(sample)
    if (this.samples.length > this.capacity * 2) this.samples = this.samples.slice(-this.capacity)
    const minute = Math.floor(sample.at / MINUTE) * MINUTE
    let bucket = this.minutes.get(minute)
    if (bucket === undefined) {
      bucket = { completed: 0, failed: 0 }
      this.minutes.set(minute, bucket)
      for (const at of this.minutes.keys()) if (at <= minute - historyMinutes * MINUTE) this.minutes.delete(at)
    }
    if (sample.ok) bucket.completed++
    else bucket.failed++
  }

  /** The last hour ending at `now`, a minute each, oldest first (minutes with nothing count 0). */
  history(now: number): ReadonlyArray<Minute> {
    const last = Math.floor(now / MINUTE) * MINUTE
    return Array.from({ length: historyMinutes }, (_, i) => {
      const at = last - (historyMinutes - 1 - i) * MINUTE
      const bucket = this.minutes.get(at)
      return { at, completed: bucket?.completed ?? 0, failed: bucket?.failed ?? 0 }
    })
  }

  /** The minutes of the last hour ending at `now` that had ends, as [at, completed, failed] (a heartbeat's share). */
  recent(now: number): ReadonlyArray<readonly [number, number, number]> {
    return this.history(now).flatMap((m) => (m.completed + m.failed > 0 ? [[m.at, m.completed, m.failed] as const] : []))
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
