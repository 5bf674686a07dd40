import * as Either from "effect/Either"
import type * as TaskDefinition from "../domain/TaskDefinition.js"

/**
 * The registry a handlers module exports as its default: task name → handler. Worker threads
 * load it by path; the main thread loads the same module to know the definitions.
 */
export interface Handlers {
  readonly _tag: "Handlers"
  readonly byName: ReadonlyMap<string, TaskDefinition.TaskHandler>
}

/** Builds the registry; a name registered twice is a programming error. */
export const make = (...handlers: ReadonlyArray<TaskDefinition.TaskHandler>): Handlers => {
  const clash = duplicate(handlers)
  if (clash !== undefined) throw new Error(`Handlers.make: task "${clash}" is registered twice`)
  return { _tag: "Handlers", byName: new Map(handlers.map((h) => [h.definition.name, h])) }
}

/** The first name two handlers share, if any. */
const duplicate = (handlers: ReadonlyArray<TaskDefinition.TaskHandler>): string | undefined => {
  const seen = new Set<string>()
  for (const h of handlers) {
    if (seen.has(h.definition.name)) return h.definition.name
    seen.add(h.definition.name)
  }
  return undefined
}

/** One registry from several (handlers modules, built-in types); Left: a name two of them share. */
export const merge = (registries: ReadonlyArray<Handlers>): Either.Either<Handlers, string> => {
  const all = registries.flatMap((r) => [...r.byName.values()])
  const clash = duplicate(all)
  return clash === undefined ? Either.right(make(...all)) : Either.left(clash)
}

export const isHandlers = (u: unknown): u is Handlers =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Handlers" &&
  (u as { byName?: unknown }).byName instanceof Map

/** The names a registry knows, sorted. */
export const names = (handlers: Handlers): ReadonlyArray<string> => [...handlers.byName.keys()].sort()
