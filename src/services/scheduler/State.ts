import type * as Effect from "effect/Effect"
import type * as FiberSet from "effect/FiberSet"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { ReadyRef } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { Executor } from "../pool/Executor.js"
import type { Executors } from "../pool/Executors.js"
import type { ResourceGovernor } from "../resources/ResourceGovernor.js"
import type { Options } from "./Scheduler.js"
import type { TaskEvents } from "../events/TaskEvents.js"
import type { Settings as Telemetry } from "../telemetry/Telemetry.js"
import type { TaskStore } from "../store/TaskStore.js"
import type { Command, Lane } from "./Command.js"
import type { Mailbox } from "./Mailbox.js"
import { Recorder } from "./Recorder.js"

/**
 * The scheduler's in-memory dispatch state. One fiber owns it (Dispatcher): only it mutates
 * it, applying the Commands everything else sends. Other fibers may take synchronous
 * snapshots (the heartbeat reads `inFlight`, stats read the recorder).
 */
export interface State {
  readonly mailbox: Mailbox
  /** The dispatcher's input: everything that changes this state. */
  readonly commands: Queue.Queue<Command>
  /** Wakes the timer: a delayed or retrying task was stored. */
  readonly timerWake: Queue.Queue<void>
  /** Where batches run, so closing the scheduler interrupts them. */
  readonly batches: FiberSet.FiberSet
  /** Claimed by this process and not finished: id → lease token. */
  readonly inFlight: Map<TaskId, string>
  /** Which executor runs each in-flight attempt (to interrupt it). */
  readonly executorOf: Map<TaskId, Executor>
  /** Taken from the mailbox, claim not yet committed. */
  readonly claiming: Set<TaskId>
  readonly lanes: Map<Executor, Lane>
  /** Moving average of executor busy time per task, by task type (unknown until timed). */
  readonly typeMs: Map<string, number>
  /** Tasks whose batch lost its thread: each runs alone next, so only the culprit fails. */
  readonly isolate: Set<TaskId>
  /** Attempts running in this process, by type (per-type limits). */
  readonly typeRunning: Map<string, number>
  /** Ready tasks set aside because their type is paused or at its limit. */
  readonly parked: Map<string, Array<ReadyRef>>
  /** Attempts running in this process, by actor key: a key's next task waits for its end. */
  readonly keyRunning: Map<string, number>
  /** Types the last refill left out of its page (their tasks may be in the store). */
  lastExcluded: ReadonlySet<string>
  /** Cancelled while running here: their `cancelled` event waits for the attempt to end. */
  readonly cancelling: Set<TaskId>
  /** Ready tasks set aside until resources are released (in rank order). */
  readonly waitingForResources: Array<ReadyRef>
  /** The best task waiting for resources: what it needs is kept free for it (reservation). */
  reserved: ReadyRef | undefined
  readonly recorder: Recorder
  queuePaused: boolean
  /** Shutting down: claim nothing more. */
  stopping: boolean
  /** A fiber waits for memory pressure to reopen admission, and will tell the dispatcher. */
  watchingAdmission: boolean
  /** Executors a fiber watches for room to open (it will tell the dispatcher). */
  readonly watchingRoom: Set<Executor>
  pausedTypes: ReadonlySet<string>
  tokenCounter: number
}

export interface Env {
  /** The scheduler's scope (fibers the dispatcher forks live in it). */
  readonly scope: Scope.Scope
  /** Resolves once every progress/log item reported so far is stored and published. */
  readonly activityBarrier: Effect.Effect<void>
  readonly store: typeof TaskStore.Service
  readonly events: typeof TaskEvents.Service
  readonly executors: typeof Executors.Service
  /** Admission by declared resources (ResourceGovernor.layerNoop: not enforced). */
  readonly governor: ResourceGovernor["Type"]
  readonly options: Options
  readonly state: State
  /** Whether to trace dispatches and record metrics (read once, checked per batch). */
  readonly telemetry: Telemetry
}

export const makeState = (
  mailbox: Mailbox,
  commands: Queue.Queue<Command>,
  timerWake: Queue.Queue<void>,
  batches: FiberSet.FiberSet,
  inFlight: Map<TaskId, string>,
  statsWindowMs: number
): State => ({
  mailbox,
  commands,
  timerWake,
  batches,
  inFlight,
  executorOf: new Map(),
  claiming: new Set(),
  lanes: new Map(),
  typeMs: new Map(),
  isolate: new Set(),
  typeRunning: new Map(),
  parked: new Map(),
  waitingForResources: [],
  keyRunning: new Map(),
  lastExcluded: new Set(),
  cancelling: new Set(),
  reserved: undefined,
  recorder: new Recorder(statsWindowMs),
  queuePaused: false,
  stopping: false,
  watchingAdmission: false,
  watchingRoom: new Set(),
  pausedTypes: new Set(),
  tokenCounter: 0
})
