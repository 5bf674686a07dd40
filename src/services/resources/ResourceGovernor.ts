import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as STM from "effect/STM"
import * as TRef from "effect/TRef"
import * as Resources from "../../domain/Resources.js"

/** A held share of the budget; `release` gives it back (once). */
export interface Permit {
  readonly amounts: Resources.Amounts
  readonly release: Effect.Effect<void>
}

/**
 * Budgets for cpu units, memory MiB and gpus. A permit takes all three at once, atomically
 * (STM), and gives them back when released. Admission can be closed (memory pressure): then
 * nothing is admitted until it reopens, while running tasks keep their permits.
 *
 * Policy: reservation with safe backfill. The dispatcher offers tasks in priority order; when
 * the best one does not fit, it is reserved — its needs are set aside — and a later (lower
 * ranked) task is admitted only if it fits in what is left after the reservation, dimension
 * by dimension. So a large high-priority task is never starved by a stream of small ones
 * (they cannot take what it waits for), yet a task that needs none of the scarce dimension
 * still runs meanwhile. No runtime estimates are needed.
 */
export class ResourceGovernor extends Context.Tag("troupe/ResourceGovernor")<ResourceGovernor, {
  readonly capacity: Resources.Amounts
  /** Rejects, at submit, a requirement larger than the capacity. */
  readonly check: (taskType: string, need: Resources.Amounts) => Either.Either<void, Resources.ResourceUnsatisfiable>
  /**
   * Takes `need` now if admission is open and it fits in what is available once `reserved`
   * is set aside; None otherwise (the caller waits for a release).
   */
  readonly tryAcquire: (need: Resources.Amounts, reserved?: Resources.Amounts) => Effect.Effect<Option.Option<Permit>>
  /** Waits until `need` fits and admission is open; the permit is released with the scope. */
  readonly acquire: (need: Resources.Amounts) => Effect.Effect<Permit, never, Scope.Scope>
  readonly available: Effect.Effect<Resources.Amounts>
  /** Opens or closes admission (closed under memory pressure). */
  readonly setAdmitting: (open: boolean) => Effect.Effect<void>
  readonly admitting: Effect.Effect<boolean>
  /** Resolves once admission is open. */
  readonly awaitAdmitting: Effect.Effect<void>
}>() {}

export const make = (capacity: Resources.Amounts) =>
  Effect.gen(function*() {
    const available = yield* TRef.make(capacity)
    const admitting = yield* TRef.make(true)

    const permit = (need: Resources.Amounts): Permit => {
      let released = false
      return {
        amounts: need,
        release: Effect.suspend(() => {
          if (released) return Effect.void
          released = true
          return STM.commit(TRef.update(available, (a) => Resources.add(a, need)))
        })
      }
    }

    const take = (need: Resources.Amounts, reserved: Resources.Amounts) =>
      STM.gen(function*() {
        const open = yield* TRef.get(admitting)
        const now = yield* TRef.get(available)
        if (!open || !Resources.fits(need, Resources.leftOver(now, reserved))) return false
        yield* TRef.set(available, Resources.subtract(now, need))
        return true
      })

    return ResourceGovernor.of({
      capacity,
      check: (taskType, need) => Resources.checkSatisfiable(taskType, need, capacity),
      tryAcquire: (need, reserved = Resources.zero) =>
        Resources.isZero(need)
          ? Effect.succeed(Option.some(permit(need)))
          : Effect.map(STM.commit(take(need, reserved)), (ok) => (ok ? Option.some(permit(need)) : Option.none())),
      acquire: (need) =>
        Effect.acquireRelease(
          STM.commit(STM.flatMap(take(need, Resources.zero), (ok) => STM.check(() => ok))).pipe(Effect.as(permit(need))),
          (p) => p.release
        ),
      available: TRef.get(available).pipe(STM.commit),
      setAdmitting: (open) => STM.commit(TRef.set(admitting, open)),
      admitting: STM.commit(TRef.get(admitting)),
      awaitAdmitting: STM.commit(STM.flatMap(TRef.get(admitting), (open) => STM.check(() => open)))
    })
  })

export const layer = (capacity: Resources.Amounts): Layer.Layer<ResourceGovernor> =>
  Layer.effect(ResourceGovernor, make(capacity))

/** No budget: every requirement is admitted at once (a process that enforces none). */
export const layerNoop: Layer.Layer<ResourceGovernor> = Layer.succeed(ResourceGovernor, (() => {
  const unlimited: Resources.Amounts = { cpu: Number.POSITIVE_INFINITY, memoryMb: Number.POSITIVE_INFINITY, gpu: Number.POSITIVE_INFINITY }
  const permit = (need: Resources.Amounts): Permit => ({ amounts: need, release: Effect.void })
  return ResourceGovernor.of({
    capacity: unlimited,
    check: () => Either.void,
    tryAcquire: (need) => Effect.succeed(Option.some(permit(need))),
    acquire: (need) => Effect.succeed(permit(need)),
    available: Effect.succeed(unlimited),
    setAdmitting: () => Effect.void,
    admitting: Effect.succeed(true),
    awaitAdmitting: Effect.void
  })
})())
