import * as Config from "effect/Config"
import * as Duration from "effect/Duration"

/** Everything the runtime can be told; `defaults` is the one source of default values. */
export interface TroupeConfig {
  /**
   * The store: a SQLite file (the embedded default), ":memory:" for an in-memory SQLite
   * database (tests), or a postgres:// URL.
   */
  readonly database: string
  /** Connections each node opens to PostgreSQL (ignored on SQLite). */
  readonly databasePool: number
  /** "normal" (WAL, synchronous=NORMAL) survives process crashes; "full" also power loss. */
  readonly durability: "normal" | "full"
  /** Path(s) (or file URLs) of the compiled handlers module(s) that worker threads load. */
  readonly handlersModule: string | ReadonlyArray<string> | undefined
  /** Registers the built-in `command` task type, which runs external programs (off: refused). */
  readonly allowCommands: boolean
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
  /** Unfinished tasks the queue may hold; submits past it fail with QueueFull (0: no limit). */
  readonly maxQueueSize: number
  /** Log lines kept per task; the first past it becomes a truncation marker. */
  readonly logCap: number
  /** How often the latest progress of running tasks is written to the store. */
  readonly progressFlush: Duration.Duration
  /** Finished tasks older than this are purged with their logs; 0 keeps them forever. */
  readonly retention: Duration.Duration
  /** Sliding window of throughput, run/wait times and health. */
  readonly statsWindow: Duration.Duration
  /** How long a handler that ignores a timeout or cancel keeps its thread before it is killed. */
  readonly interruptGrace: Duration.Duration
  /** Health: failure rate (0–1) of attempts in the window for warning and critical. */
  readonly failureRateWarning: number
  readonly failureRateCritical: number
  /** Health: how long the oldest ready task may wait before warning and critical. */
  readonly oldestReadyWarning: Duration.Duration
  readonly oldestReadyCritical: Duration.Duration
  /** Resource budget: cpu units ("auto": cores). */
  readonly cpu: number | "auto"
  /** Resource budget: memory MiB ("auto": memoryFraction of host memory or the cgroup limit, the smaller). */
  readonly memoryMb: number | "auto"
  readonly memoryFraction: number
  /** Resource budget: gpus ("auto": what nvidia-smi lists, else 0). */
  readonly gpu: number | "auto"
  /** Memory pressure above this share in use (0–1): admission pauses, the pool shrinks. */
  readonly memoryThreshold: number
  /** …or below this much free memory (MiB). */
  readonly minFreeMb: number
  /** How often memory is sampled. */
  readonly memorySampleEvery: Duration.Duration
  /** A worker thread is renewed after this many attempts (0: never). */
  readonly recycleAfterTasks: number
  /** …or once its heap passes this (MiB; "auto": 80% of heapLimitMb; 0: never). */
  readonly heapSoftLimitMb: number | "auto"
  /** A worker thread silent for this long is stale (it reports every 500 ms). */
  readonly staleAfter: Duration.Duration
  /** On shutdown, how long running tasks may finish before they are interrupted and requeued. */
  readonly shutdownTimeout: Duration.Duration
  /**
   * A node (a process running tasks on a shared store) that has not heartbeated for this long
   * is declared dead and its running attempts are recovered; nodes heartbeat 5 times per timeout.
   */
  readonly nodeTimeout: Duration.Duration
}

export const defaults: TroupeConfig = {
  database: "./troupe.db",
  databasePool: 10,
  durability: "normal",
  handlersModule: undefined,
  allowCommands: false,
  workers: "auto",
  heapLimitMb: 256,
  fiberConcurrency: 100,
  leaseDuration: Duration.seconds(30),
  agingStep: Duration.seconds(30),
  mailboxCapacity: 1024,
  pollInterval: Duration.seconds(1),
  targetBatch: Duration.millis(20),
  maxQueueSize: 0,
  logCap: 1000,
  progressFlush: Duration.seconds(1),
  retention: Duration.days(7),
  statsWindow: Duration.minutes(1),
  interruptGrace: Duration.seconds(2),
  failureRateWarning: 0.1,
  failureRateCritical: 0.5,
  oldestReadyWarning: Duration.minutes(1),
  oldestReadyCritical: Duration.minutes(5),
  cpu: "auto",
  memoryMb: "auto",
  memoryFraction: 0.8,
  gpu: "auto",
  memoryThreshold: 0.85,
  minFreeMb: 300,
  memorySampleEvery: Duration.seconds(2),
  recycleAfterTasks: 0,
  heapSoftLimitMb: "auto",
  staleAfter: Duration.seconds(5),
  shutdownTimeout: Duration.seconds(30),
  nodeTimeout: Duration.seconds(10)
}

const autoOr = (name: string, integer: boolean) =>
  Config.string(name).pipe(
    Config.validate({
      message: `expected auto or a non-negative ${integer ? "integer" : "number"}`,
      validation: (s) => s === "auto" || (/^\d+(\.\d+)?$/.test(s) && (!integer || Number.isInteger(Number(s))))
    }),
    Config.map((s): number | "auto" => (s === "auto" ? "auto" : Number(s)))
  )

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

/** "a.js, b.js" → one path or a list (undefined when empty). */
export const splitModules = (s: string): TroupeConfig["handlersModule"] => {
  const paths = s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)
  return paths.length <= 1 ? paths[0] : paths
}

/** The same settings from TROUPE_* environment variables, defaults filled in. */
export const config: Config.Config<TroupeConfig> = Config.nested(
  Config.all({
    database: Config.string("DATABASE").pipe(
      Config.withDefault(defaults.database),
      Config.withDescription("the store: a SQLite file or a postgres:// URL")
    ),
    databasePool: Config.integer("DATABASE_POOL").pipe(
      Config.validate({ message: "expected at least 2 connections", validation: (n) => n >= 2 }),
      Config.withDefault(defaults.databasePool)
    ),
    durability: Config.literal("normal", "full")("DURABILITY").pipe(Config.withDefault(defaults.durability)),
    handlersModule: Config.option(Config.string("HANDLERS")).pipe(
      Config.map((o) => (o._tag === "Some" ? splitModules(o.value) : defaults.handlersModule)),
      Config.withDescription("compiled handlers module(s) loaded by worker threads, comma-separated")
    ),
    allowCommands: Config.boolean("ALLOW_COMMANDS").pipe(
      Config.withDefault(defaults.allowCommands),
      Config.withDescription("register the built-in command task type (runs external programs)")
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
    targetBatch: Config.duration("TARGET_BATCH").pipe(Config.withDefault(defaults.targetBatch)),
    maxQueueSize: Config.integer("MAX_QUEUE_SIZE").pipe(Config.withDefault(defaults.maxQueueSize)),
    logCap: Config.integer("LOG_CAP").pipe(Config.withDefault(defaults.logCap)),
    progressFlush: Config.duration("PROGRESS_FLUSH").pipe(Config.withDefault(defaults.progressFlush)),
    retention: Config.duration("RETENTION").pipe(Config.withDefault(defaults.retention)),
    statsWindow: Config.duration("STATS_WINDOW").pipe(Config.withDefault(defaults.statsWindow)),
    interruptGrace: Config.duration("INTERRUPT_GRACE").pipe(Config.withDefault(defaults.interruptGrace)),
    failureRateWarning: Config.number("HEALTH_FAILURE_RATE_WARNING").pipe(Config.withDefault(defaults.failureRateWarning)),
    failureRateCritical: Config.number("HEALTH_FAILURE_RATE_CRITICAL").pipe(Config.withDefault(defaults.failureRateCritical)),
    oldestReadyWarning: Config.duration("HEALTH_OLDEST_READY_WARNING").pipe(Config.withDefault(defaults.oldestReadyWarning)),
    oldestReadyCritical: Config.duration("HEALTH_OLDEST_READY_CRITICAL").pipe(Config.withDefault(defaults.oldestReadyCritical)),
    cpu: autoOr("CPU", false).pipe(Config.withDefault(defaults.cpu)),
    memoryMb: autoOr("MEMORY_MB", false).pipe(Config.withDefault(defaults.memoryMb)),
    memoryFraction: Config.number("MEMORY_FRACTION").pipe(Config.withDefault(defaults.memoryFraction)),
    gpu: autoOr("GPU", true).pipe(Config.withDefault(defaults.gpu)),
    memoryThreshold: Config.number("MEMORY_THRESHOLD").pipe(Config.withDefault(defaults.memoryThreshold)),
    minFreeMb: Config.number("MIN_FREE_MB").pipe(Config.withDefault(defaults.minFreeMb)),
    memorySampleEvery: Config.duration("MEMORY_SAMPLE_EVERY").pipe(Config.withDefault(defaults.memorySampleEvery)),
    recycleAfterTasks: Config.integer("RECYCLE_AFTER_TASKS").pipe(Config.withDefault(defaults.recycleAfterTasks)),
    heapSoftLimitMb: autoOr("HEAP_SOFT_LIMIT_MB", false).pipe(Config.withDefault(defaults.heapSoftLimitMb)),
    staleAfter: Config.duration("STALE_AFTER").pipe(Config.withDefault(defaults.staleAfter)),
    shutdownTimeout: Config.duration("SHUTDOWN_TIMEOUT").pipe(Config.withDefault(defaults.shutdownTimeout)),
    nodeTimeout: Config.duration("NODE_TIMEOUT").pipe(Config.withDefault(defaults.nodeTimeout))
  }),
  "TROUPE"
)
