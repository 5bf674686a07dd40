import * as Schema from "effect/Schema"
import { SubmitOptions } from "../../domain/SubmitOptions.js"
import { TaskId } from "../../domain/TaskId.js"
import { ScheduleName, ScheduleOptions } from "../../domain/TaskSchedule.js"
import { TaskStatus } from "../../domain/TaskStatus.js"

// The params of every JSON-RPC method, defined once: the server decodes calls with them and the
// CLI checks its arguments with them before it calls (the same message either way). Light on
// purpose: it loads none of the runtime.

/** Submit options: the domain's one definition (a bad value is invalid params, -32602). */
export const SubmitOptionsParam = SubmitOptions

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

const SubmitParam = Schema.Struct({ type: Schema.String, payload: PayloadParam, options: Schema.optionalWith(SubmitOptionsParam, { exact: true }) })

export const params = {
  submit: SubmitParam,
  submitMany: Schema.Struct({ tasks: Schema.Array(SubmitParam).pipe(Schema.minItems(1), Schema.maxItems(10_000)) }),
  get: ById,
  list: Schema.Struct({
    status: Schema.optional(Schema.Array(TaskStatus)),
    type: Schema.optional(Schema.String),
    key: Schema.optional(Schema.String),
    idPrefix: Schema.optional(Schema.String.pipe(Schema.maxLength(128))),
    limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
    afterSeq: Schema.optional(Schema.Number),
    /** Newest first (then `beforeSeq` pages back). */
    newestFirst: Schema.optional(Schema.Boolean),
    beforeSeq: Schema.optional(Schema.Number)
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
  workers: Schema.Struct({}),
  graph: ById,
  types: Schema.Struct({}),
  schedule: Schema.Struct({ name: ScheduleName, type: Schema.String, payload: PayloadParam, options: ScheduleOptions }),
  unschedule: Schema.Struct({ name: Schema.String }),
  schedules: Schema.Struct({})
} as const
