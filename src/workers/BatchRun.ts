/**
 * Runs one batch of tasks one after another, with per-task timeouts and cancel. Shared by the
 * worker thread (src/workers/main.ts) and the in-process FiberExecutor.
 *
 * Forking a fiber per task cost ~3× the whole per-task overhead (bench/), so the batch runs in
 * ONE forked loop fiber that advances a shared index and writes outcomes into an array. The
 * caller's fiber waits on a signal; a cancel or a timeout asks it to interrupt the loop (the
 * task's finalizers run), records the task's outcome and forks a new loop from the next index.
 * Timeouts are watched by one timer fiber per loop, forked at the first task with a timeout
 * and re-armed without forking (it sleeps to the running task's deadline, rechecks, sleeps
 * again). Time comes from Clock, so TestClock drives it in-process.
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Tracer from "effect/Tracer"
import * as Outcome from "../domain/Outcome.js"
import { TaskDefect, TaskTimeout } from "../domain/TaskErrors.js"
import * as TaskId from "../domain/TaskId.js"
import type { Handlers } from "./Handlers.js"
import type { WireTask } from "./Protocol.js"
import * as AttemptSpan from "./AttemptSpan.js"
import * as RunTask from "./runTask.js"

export interface Options {
  /** Where the handlers' progress and log lines go. */
  readonly emit: RunTask.Emit
  /** Called synchronously as each task starts, with its Clock start time (the thread's probe). */
  readonly onStart?: ((index: number, task: WireTask, startedAt: number) => void) | undefined
  /**
   * Trace each task that carries a trace context: a `troupe.attempt` span from the fiber's
   * tracer, parented to it (AttemptSpan). Off: no span is created.
   */
  readonly tracing?: boolean | undefined
  /** The services the handlers require (their module's layer, built for this thread; the app's, in-process). */
  readonly services?: Context.Context<unknown> | undefined
}

/** One batch, ready to run. */
export interface BatchRun {
  readonly tasks: ReadonlyArray<WireTask>
  /** Runs the batch (once): one Outcome per task, in input order. */
  readonly run: Effect.Effect<ReadonlyArray<Outcome.Outcome>>
  /** Cancels a task of the batch: interrupts it if it runs now, skips it if it has not started. */
  readonly cancel: (id: string) => void
}

/** The outcome of a task that ran past its timeout. */
export const timedOut = (id: string, timeoutMs: number, detail = "was interrupted"): Outcome.Outcome =>
  new Outcome.Failed({
    id: TaskId.unsafeMake(id),
    error: new TaskTimeout({ timeoutMs, message: `task ${id} ran past its ${timeoutMs} ms timeout and ${detail}` })
  }, { disableValidation: true })

/** The outcome of a cancelled task (the store ignores it: the task already moved on). */
export const interrupted = (id: string, message: string): Outcome.Outcome =>
  new Outcome.Failed({
    id: TaskId.unsafeMake(id),
    error: new TaskDefect({ reason: "interrupted", message })
  }, { disableValidation: true })

const signalled = () => Deferred.unsafeMake<void>(FiberId.none)

export const make = (handlers: Handlers<unknown>, tasks: ReadonlyArray<WireTask>, options: Options): BatchRun => {
  const n = tasks.length
  const outcomes: Array<Outcome.Outcome | undefined> = new Array(n)
  /** The next task to start (or the one running). */
  let index = 0
  /** The task running now, -1 between tasks. */
  let current = -1
  let startedAt = 0
  let cancelled: Set<string> | undefined
  /** A pending request to stop the running task, handled by the caller's fiber. */
  let stop: { readonly index: number; readonly outcome: Outcome.Outcome } | undefined
  /** Completed when the loop ends or a stop is requested. */
  let signal = signalled()
  // The current loop's timer: its fiber, when it will wake, and its wake-up signal when idle.
  let timer: Fiber.RuntimeFiber<void> | undefined
  let timerWakeAt = Infinity
  let timerIdle: Deferred.Deferred<void> | undefined
  // Tracing: the fiber's tracer (read once per batch) and the running task's attempt span.
  let tracer: Tracer.Tracer | undefined
  let span: Tracer.Span | undefined
  let spanClock: Clock.Clock | undefined

  const requestStop = (i: number, outcome: Outcome.Outcome): void => {
    if (stop !== undefined || current !== i) return
    stop = { index: i, outcome }
    Deferred.unsafeDone(signal, Exit.void)
  }

  /** Sleeps to the running task's deadline, rechecks, and idles while no timed task runs. */
  const timerLoop = (clock: Clock.Clock): Effect.Effect<void> =>
    Effect.suspend(() => {
      const i = current
      const task = i >= 0 ? tasks[i] : undefined
      const deadline = task === undefined || task.timeoutMs === null ? Infinity : startedAt + task.timeoutMs
      const now = clock.unsafeCurrentTimeMillis()
      if (task !== undefined && task.timeoutMs !== null && now >= deadline) requestStop(i, timedOut(task.id, task.timeoutMs))
      if (deadline === Infinity || now >= deadline) {
        timerWakeAt = Infinity
        const idle = signalled()
        timerIdle = idle
        return Effect.zipRight(Deferred.await(idle), timerLoop(clock))
      }
      timerWakeAt = deadline
      return Effect.zipRight(clock.sleep(Duration.millis(deadline - now)), timerLoop(clock))
    })

  /** Makes sure the timer wakes by `deadline` (forks it only when it is missing or too late). */
  const armTimer = (clock: Clock.Clock, deadline: number): Effect.Effect<void> => {
    if (timerIdle !== undefined) {
      const idle = timerIdle
      timerIdle = undefined
      Deferred.unsafeDone(idle, Exit.void)
      return Effect.void
    }
    if (timer !== undefined && timerWakeAt <= deadline) return Effect.void
    const late = timer
    timerWakeAt = deadline
    return Effect.flatMap(Effect.fork(timerLoop(clock)), (fiber) => {
      timer = fiber
      return late === undefined ? Effect.void : Fiber.interruptFork(late)
    })
  }

  /** Runs tasks from `index` to the end; the loop fiber's whole life. */
  const loop: Effect.Effect<void> = Effect.clockWith((clock) => {
    const next = (): Effect.Effect<void> => {
      while (index < n) {
        const i = index
        const task = tasks[i]!
        // Checked in the same synchronous step that marks the task running, so a cancel either
        // sees it running or finds it in `cancelled` here.
        if (cancelled !== undefined && cancelled.has(task.id)) {
          outcomes[i] = interrupted(task.id, `task ${task.id} was cancelled before it started`)
          index = i + 1
          continue
        }
        current = i
        startedAt = clock.unsafeCurrentTimeMillis()
        options.onStart?.(i, task, startedAt)
        let run = RunTask.runTask(handlers, task, options.emit, options.services)
        const attempt = tracer === undefined ? undefined : AttemptSpan.start(tracer, task, clock.unsafeCurrentTimeNanos())
        if (attempt !== undefined) {
          span = attempt
          spanClock = clock
          // The handler's own spans are children of the attempt.
          run = Effect.withParentSpan(run, attempt)
        }
        const body = task.timeoutMs === null ? run : Effect.zipRight(armTimer(clock, startedAt + task.timeoutMs), run)
        return Effect.flatMap(body, (outcome) => {
          if (attempt !== undefined) {
            AttemptSpan.end(attempt, outcome, clock.unsafeCurrentTimeNanos())
            span = undefined
          }
          outcomes[i] = outcome
          current = -1
          index = i + 1
          return Effect.suspend(next)
        })
      }
      Deferred.unsafeDone(signal, Exit.void)
      return Effect.void
    }
    return Effect.suspend(next)
  })

  /** After the loop was interrupted for `s`: records the outcome and says where to go on. */
  const settle = (s: { readonly index: number; readonly outcome: Outcome.Outcome }): void => {
    if (span !== undefined && spanClock !== undefined) {
      // The stopped task's span ends with its verdict; one the interrupt landed in by mistake
      // (it runs again, with a new span) as interrupted.
      const ended = current === s.index ? s.outcome : new Outcome.Abandoned({ id: TaskId.unsafeMake(tasks[current]?.id ?? s.outcome.id) })
      AttemptSpan.end(span, ended, spanClock.unsafeCurrentTimeNanos())
      span = undefined
    }
    if (current === s.index) {
      outcomes[s.index] = s.outcome
      index = s.index + 1
    } else if (current >= 0) {
      // The stopped task had just ended and the interrupt landed in the next one: run it again.
      index = current
    }
    current = -1
    stop = undefined
    signal = signalled()
    timer = undefined
    timerWakeAt = Infinity
    timerIdle = undefined
  }

  const finished = (): ReadonlyArray<Outcome.Outcome> =>
    outcomes.map((o, i) => o ?? interrupted(tasks[i]!.id, "the batch ended without running this task"))

  const run: Effect.Effect<ReadonlyArray<Outcome.Outcome>> = Effect.suspend(() => {
    if (n === 0) return Effect.succeed([])
    if (options.tracing === true && tracer === undefined) {
      return Effect.tracerWith((t) => {
        tracer = t
        return run
      })
    }
    // The loop is a child of the caller's fiber: interrupting the caller interrupts the handler.
    const supervise = (fiber: Fiber.RuntimeFiber<void>): Effect.Effect<ReadonlyArray<Outcome.Outcome>> =>
      Effect.flatMap(Deferred.await(signal), () => {
        const s = stop
        if (s === undefined) return Effect.succeed(finished())
        return Effect.flatMap(Fiber.interrupt(fiber), () => {
          settle(s)
          return index >= n ? Effect.succeed(finished()) : Effect.flatMap(Effect.fork(loop), supervise)
        })
      })
    // Interrupted as a whole (shutdown, the executor stopping): the running task's span ends too.
    return Effect.onInterrupt(Effect.flatMap(Effect.fork(loop), supervise), () =>
      Effect.sync(() => {
        if (span === undefined || spanClock === undefined) return
        const id = tasks[current]?.id
        if (id !== undefined) AttemptSpan.end(span, new Outcome.Abandoned({ id: TaskId.unsafeMake(id) }), spanClock.unsafeCurrentTimeNanos())
        span = undefined
      }))
  })

  const cancel = (id: string): void => {
    ;(cancelled ??= new Set()).add(id)
    if (current >= 0 && tasks[current]!.id === id) {
      requestStop(current, interrupted(id, `task ${id} was cancelled while it ran`))
    }
  }

  return { tasks, run, cancel }
}

/**
 * Running batches by task id, so a cancel finds the batch that holds a task; and cancels that
 * arrived before their batch (a Cancel can overtake its RunBatch), applied when it registers.
 */
export interface Registry {
  readonly running: Map<string, BatchRun>
  readonly early: Set<string>
}

/** Early cancels kept (oldest dropped first): ids of tasks that may still arrive. */
const MAX_EARLY = 1024

export const makeRegistry = (): Registry => ({ running: new Map(), early: new Set() })

/** Runs `effect` with the batch's ids registered (from before it waits for its turn). */
export const registered = <A, E, R>(registry: Registry, batch: BatchRun, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    for (const task of batch.tasks) {
      registry.running.set(task.id, batch)
      if (registry.early.size > 0 && registry.early.delete(task.id)) batch.cancel(task.id)
    }
    return Effect.ensuring(
      effect,
      Effect.sync(() => {
        for (const task of batch.tasks) if (registry.running.get(task.id) === batch) registry.running.delete(task.id)
      })
    )
  })

/** Cancels these tasks where they run or wait; an id not here yet is cancelled on arrival. */
export const cancel = (registry: Registry, ids: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.sync(() => {
    for (const id of ids) {
      const batch = registry.running.get(id)
      if (batch !== undefined) {
        batch.cancel(id)
        continue
      }
      registry.early.add(id)
      if (registry.early.size > MAX_EARLY) registry.early.delete(registry.early.values().next().value!)
    }
  })
