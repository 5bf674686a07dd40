import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as TaskDefinition from "../../domain/TaskDefinition.js"
import * as Handlers from "../../workers/Handlers.js"

/** The task types this process knows: name → definition, from the handlers module. */
export class Registry extends Context.Tag("troupe/Registry")<Registry, {
  /** The handlers registry (empty in a producer-only process). */
  readonly handlers: Handlers.Any
  /** The definition registered under `name`. */
  readonly definition: (name: string) => Option.Option<TaskDefinition.Any>
  /** Every registered name, sorted. */
  readonly names: ReadonlyArray<string>
}>() {}

export const make = (handlers: Handlers.Any): Context.Tag.Service<Registry> => ({
  handlers,
  definition: (name) => Option.map(Option.fromNullable(handlers.byName.get(name)), (h) => h.definition),
  names: Handlers.names(handlers)
})

export const layer = (handlers: Handlers.Any): Layer.Layer<Registry> => Layer.succeed(Registry, make(handlers))

/** A registry that knows no types: submits are not checked against handlers. */
export const layerEmpty: Layer.Layer<Registry> = layer(Handlers.make())
