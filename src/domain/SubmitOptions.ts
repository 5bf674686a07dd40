import * as Schema from "effect/Schema"
import { DurationInput } from "./DurationInput.js"
import { PriorityInput } from "./Priority.js"
import { Requirements } from "./Resources.js"
import { RetryPolicyInput } from "./RetryPolicy.js"
import { TaskId } from "./TaskId.js"

const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** An id as a caller writes it: the TaskId rules, a plain string. */
const IdInput = TaskId.from.annotations({ identifier: "TaskIdInput", description: "a task id: 1 to 128 letters, digits, or _ . : -" })

/**
 * Per-submit options; each overrides the definition's default. One definition for every side:
 * TaskQueue.submit takes its type, the API decodes params with it (so a bad option is invalid
 * params), and the OpenRPC document describes it.
 */
export const SubmitOptions = Schema.Struct({
  /** Choose the id (letters, digits, _ . : -); a random one otherwise. */
  id: optional(IdInput),
  priority: optional(PriorityInput),
  /** Run no earlier than this long from now. */
  delay: optional(DurationInput),
  /** Run no earlier than this instant (epoch ms). */
  runAt: optional(Schema.Number),
  retry: optional(RetryPolicyInput),
  timeout: optional(DurationInput),
  /** Actor key: tasks with the same key run one at a time, in order. */
  key: optional(Schema.String),
  /**
   * Rate key: the allowance the task counts in when its type's rate limit is per key (an API
   * quota per account); ignored by a type without one.
   */
  rateKey: optional(Schema.String),
  /** A second submit with the same key returns the first task instead of a new one. */
  idempotencyKey: optional(Schema.String),
  /** Tasks that must complete first (ids already stored, or of the same submitMany). */
  dependsOn: optional(Schema.Array(IdInput)),
  /** What it needs while it runs (cpu units, memory MiB, gpus), over the definition's. */
  resources: optional(Requirements)
})
export type SubmitOptions = typeof SubmitOptions.Type
