import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * What a task needs while it runs, or what a budget holds: cpu in units of one core (may be
 * fractional), memory in MiB, gpus as whole units. A missing field is 0.
 */
export const Requirements = Schema.Struct({
  cpu: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.nonNegative())),
  memoryMb: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.nonNegative())),
  gpu: Schema.optional(Schema.Int.pipe(Schema.nonNegative()))
}).annotations({ identifier: "Requirements" })
export type Requirements = typeof Requirements.Type

/** Requirements with every field present. */
export interface Amounts {
  readonly cpu: number
  readonly memoryMb: number
  readonly gpu: number
}

export const zero: Amounts = { cpu: 0, memoryMb: 0, gpu: 0 }

export const amounts = (r: Requirements | undefined): Amounts => ({
  cpu: r?.cpu ?? 0,
  memoryMb: r?.memoryMb ?? 0,
  gpu: r?.gpu ?? 0
})

export const isZero = (a: Amounts): boolean => a.cpu === 0 && a.memoryMb === 0 && a.gpu === 0

// Fractional cpu units add up with float error (0.1 + 0.2): compare with a tolerance.
const EPSILON = 1e-9

/** Whether `need` fits in `available`, in every dimension. */
export const fits = (need: Amounts, available: Amounts): boolean =>
  need.cpu <= available.cpu + EPSILON && need.memoryMb <= available.memoryMb + EPSILON && need.gpu <= available.gpu

export const add = (a: Amounts, b: Amounts): Amounts => ({ cpu: a.cpu + b.cpu, memoryMb: a.memoryMb + b.memoryMb, gpu: a.gpu + b.gpu })
export const subtract = (a: Amounts, b: Amounts): Amounts => ({ cpu: a.cpu - b.cpu, memoryMb: a.memoryMb - b.memoryMb, gpu: a.gpu - b.gpu })

/**
 * Backfill without delaying a reservation: what is left for others once `reserved` is set
 * aside, per dimension (never below 0). A task that fits in it cannot delay the reserved one.
 */
export const leftOver = (available: Amounts, reserved: Amounts): Amounts => ({
  cpu: Math.max(0, available.cpu - reserved.cpu),
  memoryMb: Math.max(0, available.memoryMb - reserved.memoryMb),
  gpu: Math.max(0, available.gpu - reserved.gpu)
})

export const format = (a: Amounts): string => `cpu ${+a.cpu.toFixed(3)}, memory ${+a.memoryMb.toFixed(0)} MiB, gpu ${a.gpu}`

/** A requirement that no budget of this runtime can ever satisfy. */
export class ResourceUnsatisfiable extends Schema.TaggedError<ResourceUnsatisfiable>()("ResourceUnsatisfiable", {
  taskType: Schema.String,
  message: Schema.String
}) {}

/** Rejects, at submit, a requirement larger than the capacity: it would wait forever. */
export const checkSatisfiable = (
  taskType: string,
  need: Amounts,
  capacity: Amounts
): Either.Either<void, ResourceUnsatisfiable> =>
  fits(need, capacity)
    ? Either.right(undefined)
    : Either.left(new ResourceUnsatisfiable({
      taskType,
      message: `task type "${taskType}" needs ${format(need)}, more than the capacity (${format(capacity)}); it could never start`
    }))
