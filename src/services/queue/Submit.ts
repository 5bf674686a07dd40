import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Problems from "../../domain/Problems.js"
import type * as Resources from "../../domain/Resources.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import type * as TaskRef from "../../domain/TaskRef.js"
import { InvalidPayload, UnknownTaskType } from "../../domain/TaskErrors.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as TaskIdModule from "../../domain/TaskId.js"
import * as Trace from "../../domain/Trace.js"
import type { TaskEvents } from "../events/TaskEvents.js"
import type { ResourceGovernor } from "../resources/ResourceGovernor.js"
import type { Scheduler } from "../scheduler/Scheduler.js"
import type { TaskStore } from "../store/TaskStore.js"
import * as Coalesce from "./Coalesce.js"
import * as Dependencies from "./Dependencies.js"
import type { Registry } from "./Registry.js"
import * as Submission from "./Submission.js"
import type { Config, EncodedItem, SubmitError, SubmitOptions } from "./TaskQueue.js"

// Submitting: every item validated synchronously first (the first bad one fails the whole
// submit, nothing stored), then stored in one commit, then each new task's first status
// published (subscribers of every event see tasks arrive) and the scheduler told what is ready.

export interface Deps {
  readonly store: TaskStore["Type"]
  readonly events: TaskEvents["Type"]
  readonly registry: Registry["Type"]
  readonly scheduler: Scheduler["Type"]
  readonly governor: ResourceGovernor["Type"]
  readonly config: Config
  readonly tracing: boolean
}

export const make = ({ config, events, governor, registry, scheduler, store, tracing }: Deps) => Effect.gen(function*() {
  const newId = TaskIdModule.makeGenerator()

  const unknownType = (name: string): UnknownTaskType | undefined =>
    registry.names.length === 0 || Option.isSome(registry.definition(name))
      ? undefined
      : new UnknownTaskType({ taskType: name, known: registry.names })

  /**
   * Stores validated tasks. Tracing on: under a `troupe.submit` span whose traceparent is
   * stored with each task, so its dispatches and attempts continue the submitter's trace.
   */
  const store_ = (news: ReadonlyArray<Submission.Prepared>): Effect.Effect<ReadonlyArray<TaskId>, SubmitError> => {
    if (!tracing) return storeNow(news)
    const attributes: Record<string, unknown> = { "task.count": news.length }
    if (news.length === 1) {
      attributes["task.id"] = news[0]!.id
      attributes["task.type"] = news[0]!.type
      attributes["task.priority"] = news[0]!.priority
    }
    return Effect.useSpan("troupe.submit", { kind: "producer", attributes }, (span) => {
      const traceParent = Trace.encode(span) ?? null
      return Effect.withParentSpan(storeNow(news.map((t) => ({ ...t, traceParent }))), span)
    })
  }

  /** Stores tasks, publishes the new ones, and tells the scheduler what is ready or delayed. */
  const storeAndNotify = (news: ReadonlyArray<Submission.Prepared>) =>
    Effect.gen(function*() {
      if (news.some((t) => t.dependsOn.length > 0)) yield* Dependencies.checkAcyclic(news)
      const stored = yield* store.insert(news, config.maxQueueSize === undefined ? {} : { maxActive: config.maxQueueSize })
      // Before the scheduler hears of them: a task's `pending` comes before its `running`.
      const arrived = stored.flatMap((t, i) =>
        t.created ? [{ _tag: "StatusChanged" as const, id: t.id, type: t.type, status: t.status, at: news[i]!.createdAt }] : [])
      if (arrived.length > 0) yield* events.publish(arrived)
      const ready = stored.filter((t) => t.status === "pending")
      if (ready.length > 0) {
        yield* scheduler.notifyReady(
          ready.map(({ created: _, status: __, ...ref }) => ref)
        )
      }
      if (stored.some((t) => t.status === "delayed")) yield* scheduler.notifyDelayed
      return stored.map((t) => t.id)
    })

  // Submits made at the same moment share one insert when none can make another fail: no
  // queue limit (QueueFull) and no dependencies (InvalidDependency); only a store error, which
  // would fail a shared transaction anyway. Traced submits keep their own span and insert.
  const shared = yield* Coalesce.make(storeAndNotify)
  const storeNow = (news: ReadonlyArray<Submission.Prepared>): Effect.Effect<ReadonlyArray<TaskId>, SubmitError> =>
    config.maxQueueSize === undefined && news.every((t) => t.dependsOn.length === 0)
      ? shared.run(news)
      : storeAndNotify(news)

  /** Validates every item synchronously; the first bad one fails the whole submit. */
  const prepareAll = (
    items: ReadonlyArray<{ readonly definition: TaskDefinition.Any; readonly payload: unknown; readonly encoded?: boolean; readonly options?: SubmitOptions }>,
    now: number
  ): Either.Either<Array<Submission.Prepared>, InvalidPayload | UnknownTaskType | Resources.ResourceUnsatisfiable> => {
    const out: Array<Submission.Prepared> = []
    for (const item of items) {
      const unknown = unknownType(item.definition.name)
      if (unknown !== undefined) return Either.left(unknown)
      const encoded = item.encoded === true ? Either.right(item.payload) : item.definition.encodePayload(item.payload)
      if (Either.isLeft(encoded)) {
        return Either.left(new InvalidPayload({ taskType: item.definition.name, message: Problems.message(encoded.left, "payload") }))
      }
      const prepared = Submission.prepare(item.definition, encoded.right, item.options ?? {}, now, config.agingStepMs, newId)
      if (Either.isLeft(prepared)) return Either.left(prepared.left)
      if (prepared.right.resources !== null) {
        const satisfiable = governor.check(item.definition.name, prepared.right.resources)
        if (Either.isLeft(satisfiable)) return Either.left(satisfiable.left)
      }
      out.push(prepared.right)
    }
    return Either.right(out)
  }

  // Runs once per submitted task under a burst of single submits: written without a generator
  // (Effect.gen allocates an iterator and a step object per yield, ~5 KiB a submit, measured).
  const submitMany = (items: ReadonlyArray<TaskRef.AnyItem>): Effect.Effect<ReadonlyArray<TaskId>, SubmitError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const news = prepareAll(items, now)
      return Either.isLeft(news) ? Effect.fail(news.left) : store_(news.right)
    })

  /**
   * Items by type name with encoded payloads (the API): every one checked first, then one
   * commit. Without a generator, like submitMany: it runs once per single API submit.
   */
  const submitManyEncoded = (items: ReadonlyArray<EncodedItem>): Effect.Effect<ReadonlyArray<TaskId>, SubmitError> => {
    const checked: Array<{ readonly definition: TaskDefinition.Any; readonly payload: unknown; readonly encoded: true; readonly options?: SubmitOptions }> = []
    for (const { options, payload, type } of items) {
      const definition = registry.definition(type)
      if (Option.isNone(definition)) return Effect.fail(new UnknownTaskType({ taskType: type, known: registry.names }))
      const encoded = definition.value.validateEncoded(payload)
      if (Either.isLeft(encoded)) return Effect.fail(new InvalidPayload({ taskType: type, message: Problems.message(encoded.left, "payload") }))
      checked.push({ definition: definition.value, payload: encoded.right, encoded: true, ...(options ? { options } : {}) })
    }
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const prepared = prepareAll(checked, now)
      return Either.isLeft(prepared) ? Effect.fail(prepared.left) : store_(prepared.right)
    })
  }

  const submitEncoded = (type: string, payload: unknown, options?: SubmitOptions) =>
    Effect.map(submitManyEncoded([{ type, payload, ...(options ? { options } : {}) }]), (ids) => ids[0]!)

  return { submitMany, submitEncoded, submitManyEncoded }
})
