/** One sample of memory, as SystemMetrics reads it (MiB). */
export interface MemorySample {
  /** The effective limit: the cgroup's memory.max where there is one, else host memory. */
  readonly limitMb: number
  /** In use under that limit (cgroup memory.current, or host total − free). */
  readonly usedMb: number
}

export interface Settings {
  /** Pressure above this share of the limit in use (0–1). */
  readonly threshold: number
  /** …or when less than this is free (MiB). */
  readonly minFreeMb: number
  /** Pressure ends only below this share (hysteresis: threshold − a margin). */
  readonly relief: number
  /** Calm samples in a row before each step back up (hysteresis in time). */
  readonly calmSamples: number
  /** Pool size range the target moves in. */
  readonly minWorkers: number
  readonly maxWorkers: number
}

export interface State {
  readonly underPressure: boolean
  /** Calm samples in a row since the last change. */
  readonly calm: number
  /** The pool size the governor asks for. */
  readonly target: number
}

export const initial = (settings: Settings): State => ({ underPressure: false, calm: 0, target: settings.maxWorkers })

export const freeMb = (s: MemorySample) => Math.max(0, s.limitMb - s.usedMb)
export const usedShare = (s: MemorySample) => (s.limitMb > 0 ? s.usedMb / s.limitMb : 1)

/** Whether a sample is under pressure (above the threshold, or below the free minimum). */
export const isPressure = (s: MemorySample, settings: Settings) =>
  usedShare(s) > settings.threshold || freeMb(s) < settings.minFreeMb

const isCalm = (s: MemorySample, settings: Settings) =>
  usedShare(s) < settings.relief && freeMb(s) >= settings.minFreeMb

/**
 * One step of the pressure controller. Under pressure: admission closes and the target drops
 * by one worker per sample (down to the minimum) — running tasks finish, idle workers retire.
 * Pressure ends only once use falls below `relief` (not just below the threshold), and then
 * capacity comes back one worker per `calmSamples` calm samples, so a reading that hovers at
 * the threshold does not make the pool flap.
 */
export const step = (state: State, sample: MemorySample, settings: Settings): State => {
  if (isPressure(sample, settings)) {
    return { underPressure: true, calm: 0, target: Math.max(settings.minWorkers, state.target - 1) }
  }
  if (state.underPressure && !isCalm(sample, settings)) return { ...state, calm: 0 }
  if (!isCalm(sample, settings)) return { ...state, calm: 0 }
  const calm = state.calm + 1
  if (state.underPressure) {
    // The first calm stretch reopens admission; the pool then grows step by step.
    return calm >= settings.calmSamples ? { underPressure: false, calm: 0, target: state.target } : { ...state, calm }
  }
  if (state.target < settings.maxWorkers && calm >= settings.calmSamples) {
    return { underPressure: false, calm: 0, target: state.target + 1 }
  }
  return { ...state, calm: state.target < settings.maxWorkers ? calm : 0 }
}
