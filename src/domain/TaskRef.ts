import type * as Types from "effect/Types"
import type { SubmitOptions } from "./SubmitOptions.js"
import type { Any, Payload, TaskDefinition } from "./TaskDefinition.js"
import type { TaskId } from "./TaskId.js"

declare const TaskRefTypeId: unique symbol

/**
 * A task's id tied, in the types only, to the definition it was submitted with: `submit` and
 * `submitMany` return one, and `await` takes only the matching definition's (or a plain TaskId,
 * read from a listing or typed in by hand). At run time it is the id string. The definition is
 * carried invariantly, with its name, so two definitions with the same Schemas do not mix.
 */
export type TaskRef<D> = TaskId & { readonly [TaskRefTypeId]?: Types.Invariant<D> }

/** Ties an id to a definition (the queue's own submits; a caller should not need it). */
export const unsafeOf = <D>(id: TaskId): TaskRef<D> => id

/** One item of a typed `submitMany`: a definition, a payload of its type, options. */
export interface Item<D> {
  readonly definition: D
  readonly payload: Payload<D>
  readonly options?: SubmitOptions
}

/** An item of one definition or another (a union of definitions gives a union of items). */
export type ItemOf<D> = D extends unknown ? Item<D> : never

/** An item with its types erased, as the queue handles it inside. */
export interface AnyItem {
  readonly definition: Any
  readonly payload: unknown
  readonly options?: SubmitOptions
}

/** A `submitMany` list, each item checked against its own definition (a heterogeneous list). */
export type Items<Ds extends ReadonlyArray<Any>> = { readonly [K in keyof Ds]: Item<Ds[K]> }

/** The references `submitMany` returns, in the order of its items. */
export type Refs<Ds extends ReadonlyArray<Any>> = { readonly [K in keyof Ds]: TaskRef<Ds[K]> }

/** A definition's reference type. */
export type RefOf<P, PI, S, SI, F, FI, N extends string> = TaskRef<TaskDefinition<P, PI, S, SI, F, FI, N>>
