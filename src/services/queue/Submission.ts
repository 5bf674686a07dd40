import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Priority from "../../domain/Priority.js"
import * as Rank from "../../domain/Rank.js"
import * as Resources from "../../domain/Resources.js"
import * as RetryPolicy from "../../domain/RetryPolicy.js"
import type { NewTask } from "../../domain/Task.js"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import { InvalidPayload } from "../../domain/TaskErrors.js"
import * as TaskId from "../../domain/TaskId.js"
import type { SubmitOptions } from "./TaskQueue.js"

export type Prepared = NewTask

const decodeId = Schema.decodeUnknownEither(TaskId.TaskId)
const decodePriority = Schema.decodeUnknownEither(Priority.Priority)
const decodeRequirements = Schema.decodeUnknownEither(Resources.Requirements)

/**
 * Turns a validated, encoded payload and the submit options into the row to store. Pure and
 * synchronous: it runs once per submitted task.
 */
export const prepare = (
  definition: TaskDefinition.Any,
  encoded: unknown,
  options: SubmitOptions,
  now: number,
  agingStepMs: number,
  newId: (now: number) => TaskId.TaskId = TaskId.generate
): Either.Either<Prepared, InvalidPayload> => {
  const invalid = (message: string) => Either.left(new InvalidPayload({ taskType: definition.name, message }))
  let id: TaskId.TaskId
  if (options.id === undefined) {
    id = newId(now)
  } else {
    const decoded = decodeId(options.id)
    if (Either.isLeft(decoded)) return invalid(`id: ${decoded.left.message}`)
    id = decoded.right
  }
  let priority = definition.priority
  if (options.priority !== undefined) {
    const decoded = decodePriority(typeof options.priority === "string" ? Priority.resolve(options.priority) : options.priority)
    if (Either.isLeft(decoded)) return invalid(`priority: ${decoded.left.message}`)
    priority = decoded.right
  }
  let retry = definition.retry
  if (options.retry !== undefined) {
    const decoded = RetryPolicy.makeEither(options.retry, retry)
    if (Either.isLeft(decoded)) return invalid(`retry: ${decoded.left.message}`)
    retry = decoded.right
  }
  const delayMs = options.delay === undefined ? 0 : Duration.toMillis(options.delay)
  if (!(delayMs >= 0) || !Number.isFinite(delayMs)) return invalid("delay must be a finite, non-negative duration")
  if (options.runAt !== undefined && !Number.isFinite(options.runAt)) {
    return invalid("runAt must be a finite epoch-millisecond instant")
  }
  const runAt = Math.max(now + delayMs, options.runAt ?? 0)
  const timeout = options.timeout === undefined
    ? Option.map(definition.timeout, Duration.toMillis)
    : Option.some(Duration.toMillis(options.timeout))
  if (Option.isSome(timeout) && !(timeout.value > 0)) return invalid("timeout must be positive")
  const dependsOn: Array<TaskId.TaskId> = []
  for (const dep of options.dependsOn ?? []) {
    const decoded = decodeId(dep)
    if (Either.isLeft(decoded)) return invalid(`dependsOn: ${decoded.left.message}`)
    // A dependency named twice is one dependency (its result is read once).
    if (!dependsOn.includes(decoded.right)) dependsOn.push(decoded.right)
  }
  if (options.key !== undefined && (options.key.length === 0 || options.key.length > 256)) {
    return invalid("key must be 1 to 256 characters")
  }
  if (options.rateKey !== undefined && (options.rateKey.length === 0 || options.rateKey.length > 256)) {
    return invalid("rateKey must be 1 to 256 characters")
  }
  const requirements = decodeRequirements(options.resources ?? definition.resources)
  if (Either.isLeft(requirements)) return invalid(`resources: ${requirements.left.message}`)
  const need = Resources.amounts(requirements.right)
  return Either.right({
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
    ...(options.rateKey === undefined ? {} : { rateKey: options.rateKey }),
    idempotencyKey: options.idempotencyKey ?? null,
    createdAt: now,
    dependsOn,
    resources: Resources.isZero(need) ? null : need,
    traceParent: null
  })
}
