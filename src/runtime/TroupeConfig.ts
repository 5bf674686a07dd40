import * as Config from "effect/Config"
import * as Duration from "effect/Duration"

/** Everything the runtime can be told; `defaults` is the one source of default values. */
export interface TroupeConfig {
  /** SQLite file of the embedded store, or ":memory:" for the in-memory store (tests only). */
  readonly database: string
  /** "normal" (WAL, synchronous=NORMAL) survives process crashes; "full" also power loss. */
  readonly durability: "normal" | "full"
  /** Path (or file URL) of the compiled handlers module that worker threads load. */
  readonly handlersModule: string | undefined
  /** Worker threads: a number, "auto" (= cores) or a min/max range. */
  readonly workers: number | "auto" | { readonly min: number; readonly max: number }
  /** Heap limit per worker thread (resourceLimits.maxOldGenerationSizeMb). */
  readonly heapLimitMb: number
  /** Tasks run at once by the in-process (fiber) executor. */
  readonly fiberConcurrency: number
  readonly leaseDuration: Duration.Duration
  /** Aging: time per priority point (src/domain/Rank.ts). */
  readonly agingStep: Duration.Duration
  readonly mailboxCapacity: number
  readonly pollInterval: Duration.Duration
  /** Aim for worker requests of about this duration (adaptive micro-batching). */
  readonly targetBatch: Duration.Duration
}

export const defaults: TroupeConfig = {
  database: "./troupe.db",
  durability: "normal",
  handlersModule: undefined,
  workers: "auto",
  heapLimitMb: 256,
  fiberConcurrency: 100,
  leaseDuration: Duration.seconds(30),
  agingStep: Duration.millis(100),
  mailboxCapacity: 1024,
  pollInterval: Duration.seconds(1),
  targetBatch: Duration.millis(20)
}

/** Parses "auto", "4" or "2-8". */
export const parseWorkers = (s: string): TroupeConfig["workers"] | undefined => {
  const t = s.trim()
  if (t === "auto") return "auto"
  const range = /^(\d+)\s*-\s*(\d+)$/.exec(t)
  if (range) {
    const min = Number(range[1])
    const max = Number(range[2])
    return min >= 1 && max >= min ? { min, max } : undefined
  }
  return /^\d+$/.test(t) && Number(t) >= 1 ? Number(t) : undefined
}

/** The same settings from TROUPE_* environment variables, defaults filled in. */
export const config: Config.Config<TroupeConfig> = Config.nested(
  Config.all({
    database: Config.string("DATABASE").pipe(
      Config.withDefault(defaults.database),
      Config.withDescription("SQLite file of the store")
    ),
    durability: Config.literal("normal", "full")("DURABILITY").pipe(Config.withDefault(defaults.durability)),
    handlersModule: Config.option(Config.string("HANDLERS")).pipe(
      Config.map((o) => (o._tag === "Some" ? o.value : defaults.handlersModule)),
      Config.withDescription("compiled handlers module loaded by worker threads")
    ),
    workers: Config.string("WORKERS").pipe(
      Config.validate({ message: "expected auto, N or MIN-MAX", validation: (s) => parseWorkers(s) !== undefined }),
      Config.map((s) => parseWorkers(s) ?? defaults.workers),
      Config.withDefault(defaults.workers)
    ),
    heapLimitMb: Config.integer("HEAP_LIMIT_MB").pipe(Config.withDefault(defaults.heapLimitMb)),
    fiberConcurrency: Config.integer("FIBER_CONCURRENCY").pipe(Config.withDefault(defaults.fiberConcurrency)),
    leaseDuration: Config.duration("LEASE_DURATION").pipe(Config.withDefault(defaults.leaseDuration)),
    agingStep: Config.duration("AGING_STEP").pipe(Config.withDefault(defaults.agingStep)),
    mailboxCapacity: Config.integer("MAILBOX_CAPACITY").pipe(Config.withDefault(defaults.mailboxCapacity)),
    pollInterval: Config.duration("POLL_INTERVAL").pipe(Config.withDefault(defaults.pollInterval)),
    targetBatch: Config.duration("TARGET_BATCH").pipe(Config.withDefault(defaults.targetBatch))
  }),
  "TROUPE"
)
