import type * as Effect from "effect/Effect"
import type * as FiberSet from "effect/FiberSet"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { TaskId } from "../../domain/TaskId.js"
import type { Executor } from "../pool/Executor.js"
import type { Executors } from "../pool/Executors.js"
import type { ResourceGovernor } from "../resources/ResourceGovernor.js"
import type { Options } from "./Scheduler.js"
import type { TaskEvents } from "../events/TaskEvents.js"
import type { Settings as Telemetry } from "../telemetry/Telemetry.js"
import type { TaskStore } from "../store/TaskStore.js"
import type { Command } from "./Command.js"
import { makeBooks } from "./Plan.js"
import type { Books, World } from "./Plan.js"
import type { Mailbox } from "./Mailbox.js"
import { Recorder } from "./Recorder.js"
import type { Cluster } from "./maintenance/NodeHeartbeat.js"

/**
 * The scheduler's in-memory dispatch state: the dispatcher's books (Plan.ts decides on them)
 * and the handles its interpreter needs. One fiber owns it (Dispatcher): only it mutates it,
 * applying the Commands everything else sends. Other fibers may take synchronous snapshots
 * (the heartbeat reads `inFlight`, stats read the recorder).
 */
export interface State extends Books<Executor> {
  /** The dispatcher's input: everything that changes this state. */
  readonly commands: Queue.Queue<Command>
  /** Wakes the timer: a delayed or retrying task was stored. */
  readonly timerWake: Queue.Queue<void>
  /** Runs the lease heartbeat now: a task may have been cancelled by another process. */
  readonly leaseCheck: Queue.Queue<void>
  /** Where batches run, so closing the scheduler interrupts them. */
  readonly batches: FiberSet.FiberSet
  readonly recorder: Recorder
}

export interface Env {
  /** The scheduler's scope (fibers the dispatcher forks live in it). */
  readonly scope: Scope.Scope
  /** Resolves once every progress/log item reported so far is stored and published. */
  readonly activityBarrier: Effect.Effect<void>
  readonly store: typeof TaskStore.Service
  readonly events: typeof TaskEvents.Service
  readonly executors: typeof Executors.Service
  /** The executors as Plan reads them: which runs a type, how much room each has now. */
  readonly world: World<Executor>
  /** Admission by declared resources (ResourceGovernor.layerNoop: not enforced). */
  readonly governor: ResourceGovernor["Type"]
  readonly options: Options
  readonly state: State
  /** Whether to trace dispatches and record metrics (read once, checked per batch). */
  readonly telemetry: Telemetry
  /** The nodes sharing the store, and whether this one leads (maintenance/NodeHeartbeat). */
  readonly cluster: Cluster
}

export const makeState = (
  mailbox: Mailbox,
  commands: Queue.Queue<Command>,
  timerWake: Queue.Queue<void>,
  leaseCheck: Queue.Queue<void>,
  batches: FiberSet.FiberSet,
  inFlight: Map<TaskId, string>,
  statsWindowMs: number
): State => ({
  ...makeBooks<Executor>(mailbox, inFlight),
  commands,
  timerWake,
  leaseCheck,
  batches,
  recorder: new Recorder(statsWindowMs)
})
