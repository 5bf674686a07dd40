import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Priority from "../../domain/Priority.js"
import * as Rank from "../../domain/Rank.js"
import * as RetryPolicy from "../../domain/RetryPolicy.js"
import type { NewTask } from "../../domain/Task.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import { InvalidPayload } from "../../domain/TaskErrors.js"
import * as TaskId from "../../domain/TaskId.js"
import type { SubmitOptions } from "../TaskQueue.js"

export type Prepared = NewTask

const invalid = (definition: TaskDefinition.Any, message: string) =>
  new InvalidPayload({ taskType: definition.name, message })

/** Turns a validated, encoded payload and the submit options into the row to store. */
export const prepare = (
  definition: TaskDefinition.Any,
  encoded: unknown,
  options: SubmitOptions,
  now: number,
  agingStepMs: number
): Effect.Effect<Prepared, InvalidPayload> =>
  Effect.gen(function*() {
    const id = options.id === undefined
      ? TaskId.unsafeMake(crypto.randomUUID())
      : yield* Schema.decodeUnknown(TaskId.TaskId)(options.id).pipe(
        Effect.mapError((e) => invalid(definition, `id: ${e.message}`))
      )
    const priority = options.priority === undefined
      ? definition.priority
      : yield* Schema.decodeUnknown(Priority.Priority)(
        typeof options.priority === "string" ? Priority.resolve(options.priority) : options.priority
      ).pipe(Effect.mapError((e) => invalid(definition, `priority: ${e.message}`)))
    const retry = options.retry === undefined
      ? definition.retry
      : yield* RetryPolicy.make(options.retry, definition.retry).pipe(
        Effect.mapError((e) => invalid(definition, `retry: ${e.message}`))
      )
    const delayMs = options.delay === undefined ? 0 : Duration.toMillis(options.delay)
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) return yield* Effect.fail(invalid(definition, "delay must be a finite, non-negative duration"))
    if (options.runAt !== undefined && !Number.isFinite(options.runAt)) {
      return yield* Effect.fail(invalid(definition, "runAt must be a finite epoch-millisecond instant"))
    }
    const runAt = Math.max(now + delayMs, options.runAt ?? 0)
    const timeout = options.timeout === undefined ? Option.map(definition.timeout, Duration.toMillis) : Option.some(Duration.toMillis(options.timeout))
    if (Option.isSome(timeout) && !(timeout.value > 0)) return yield* Effect.fail(invalid(definition, "timeout must be positive"))
    return {
      id,
      type: definition.name,
      payload: encoded,
      priority,
      status: runAt > now ? "delayed" : "pending",
      retry,
      timeoutMs: Option.getOrNull(timeout),
      runAt,
      rank: Rank.rank(runAt, priority, agingStepMs),
      key: options.key ?? null,
      idempotencyKey: options.idempotencyKey ?? null,
      createdAt: now
    }
  })
