import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Priority from "../../domain/Priority.js"
import { TaskId } from "../../domain/TaskId.js"
import { TaskStatus } from "../../domain/TaskStatus.js"

// The params of every JSON-RPC method, defined once: the server decodes calls with them and the
// CLI checks its arguments with them before it calls (the same message either way). Light on
// purpose: it loads none of the runtime.

/** A duration as milliseconds or Effect's text form ("30 seconds"). */
const DurationParam = Schema.Union(
  Schema.NonNegative,
  Schema.String.pipe(Schema.filter((text) => Option.isSome(Duration.decodeUnknown(text)), {
    description: `a duration: milliseconds, or text such as "30 seconds"`
  }))
)

// Option values are checked here with the domain's own Schemas, so a bad one is invalid params
// (-32602), not an invalid payload.
export const SubmitOptionsParam = Schema.Struct({
  id: Schema.optional(TaskId),
  priority: Schema.optional(Schema.Union(Schema.Literal("low", "normal", "high", "critical"), Priority.Priority)),
  delay: Schema.optional(DurationParam),
  runAt: Schema.optional(Schema.Number),
  timeout: Schema.optional(DurationParam),
  key: Schema.optional(Schema.String),
  idempotencyKey: Schema.optional(Schema.String),
  dependsOn: Schema.optional(Schema.Array(TaskId)),
  resources: Schema.optional(Schema.Struct({
    cpu: Schema.optional(Schema.Number),
    memoryMb: Schema.optional(Schema.Number),
    gpu: Schema.optional(Schema.Number)
  })),
  retry: Schema.optional(Schema.Struct({
    maxAttempts: Schema.optional(Schema.Number),
    backoff: Schema.optional(Schema.Literal("fixed", "exponential")),
    initialDelay: Schema.optional(DurationParam),
    factor: Schema.optional(Schema.Number),
    maxDelay: Schema.optional(DurationParam),
    jitter: Schema.optional(Schema.Boolean),
    priorityDecrease: Schema.optional(Schema.Number)
  }))
})

export const ById = Schema.Struct({ id: TaskId })
export const TargetParam = Schema.Union(
  Schema.Struct({ id: TaskId }),
  Schema.Struct({ type: Schema.String }),
  Schema.Struct({ queue: Schema.Literal(true) })
)

/** The largest payload a call may carry, as JSON (the body's own limit is larger: 1 MiB). */
export const maxPayloadBytes = 512 * 1024

const PayloadParam = Schema.Unknown.pipe(Schema.filter((payload) => {
  const bytes = Buffer.byteLength(JSON.stringify(payload) ?? "")
  return bytes <= maxPayloadBytes || `${bytes} bytes of JSON, over the limit of ${maxPayloadBytes}`
}))

const SubmitParam = Schema.Struct({ type: Schema.String, payload: PayloadParam, options: Schema.optional(SubmitOptionsParam) })

export const params = {
  submit: SubmitParam,
  submitMany: Schema.Struct({ tasks: Schema.Array(SubmitParam).pipe(Schema.minItems(1), Schema.maxItems(10_000)) }),
  get: ById,
  list: Schema.Struct({
    status: Schema.optional(Schema.Array(TaskStatus)),
    type: Schema.optional(Schema.String),
    limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
    afterSeq: Schema.optional(Schema.Number)
  }),
  cancel: ById,
  pause: TargetParam,
  resume: TargetParam,
  retry: ById,
  delete: Schema.Struct({ id: TaskId, force: Schema.optional(Schema.Boolean) }),
  logs: ById,
  counts: Schema.Struct({}),
  stats: Schema.Struct({}),
  health: Schema.Struct({}),
  workers: Schema.Struct({})
} as const
