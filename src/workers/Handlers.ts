import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as TaskDefinition from "../domain/TaskDefinition.js"

/**
 * The registry a handlers module exports as its default: task name → handler. Worker threads
 * load it by path; the main thread loads the same module to know the definitions. `R`: the
 * services its handlers still require (none once a module has provided them).
 */
export interface Handlers<R = never> {
  readonly _tag: "Handlers"
  readonly byName: ReadonlyMap<string, TaskDefinition.TaskHandler<R>>
  /**
   * What the module provides its handlers (`provide`), types erased: built once per worker
   * thread when it starts and released when it stops (retired, recycled, shut down); once in
   * the main process for its in-process (fiber) types.
   */
  readonly layer: Layer.Layer<unknown, unknown> | undefined
}

/** What a handler requires. */
export type Requirements<H> = H extends TaskDefinition.TaskHandler<infer R> ? R : never

/** Builds the registry; a name registered twice is a programming error. */
export const make = <const Hs extends ReadonlyArray<TaskDefinition.TaskHandler<unknown>>>(
  ...handlers: Hs
): Handlers<Requirements<Hs[number]>> => {
  const clash = duplicate(handlers)
  if (clash !== undefined) throw new Error(`Handlers.make: task "${clash}" is registered twice`)
  return {
    _tag: "Handlers",
    byName: new Map(handlers.map((h) => [h.definition.name, h as TaskDefinition.TaskHandler<Requirements<Hs[number]>>])),
    layer: undefined
  }
}

/**
 * Provides services to the handlers, built per worker thread (a connection, a model, a client
 * made once and reused by every task the thread runs; finalized when the thread stops), and
 * once in the main process for in-process types. What the layer does not provide stays required.
 *
 *   export default Handlers.provide(Handlers.make(Query.handler(...)), DatabaseLive)
 */
export const provide = <R, ROut, E, RIn>(
  handlers: Handlers<R>,
  layer: Layer.Layer<ROut, E, RIn>
): Handlers<Exclude<R, ROut> | RIn> => ({
  _tag: "Handlers",
  byName: handlers.byName as ReadonlyMap<string, TaskDefinition.TaskHandler<Exclude<R, ROut> | RIn>>,
  // An earlier provide's layer may need this one's services: this one is provided to it.
  layer: (handlers.layer === undefined ? layer : Layer.provideMerge(handlers.layer as Layer.Layer<unknown, unknown, ROut>, layer)) as Layer.Layer<unknown, unknown>
})

/** The first name two handlers share, if any. */
const duplicate = (handlers: ReadonlyArray<TaskDefinition.TaskHandler<unknown>>): string | undefined => {
  const seen = new Set<string>()
  for (const h of handlers) {
    if (seen.has(h.definition.name)) return h.definition.name
    seen.add(h.definition.name)
  }
  return undefined
}

/** Registries with their types erased, as a process loads them by path. */
export type Any = Handlers<unknown>

/** One registry from several (handlers modules, built-in types); Left: a name two of them share. */
export const merge = <R>(registries: ReadonlyArray<Handlers<R>>): Either.Either<Handlers<R>, string> => {
  const all = registries.flatMap((r) => [...r.byName.values()])
  const clash = duplicate(all)
  if (clash !== undefined) return Either.left(clash)
  const layers = registries.flatMap((r) => (r.layer === undefined ? [] : [r.layer]))
  return Either.right({
    _tag: "Handlers",
    byName: new Map(all.map((h) => [h.definition.name, h])),
    layer: layers.length === 0 ? undefined : layers.length === 1 ? layers[0] : Layer.mergeAll(...layers as [Layer.Layer<unknown, unknown>])
  })
}

export const isHandlers = (u: unknown): u is Any =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Handlers" &&
  (u as { byName?: unknown }).byName instanceof Map

/** The names a registry knows, sorted. */
export const names = <R>(handlers: Handlers<R>): ReadonlyArray<string> => [...handlers.byName.keys()].sort()
