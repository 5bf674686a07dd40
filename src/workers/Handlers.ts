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
  const byName = new Map<string, TaskDefinition.TaskHandler>()
  for (const h of handlers) {
    if (byName.has(h.definition.name)) {
      throw new Error(`Handlers.make: task "${h.definition.name}" is registered twice`)
    }
    byName.set(h.definition.name, h)
  }
  return { _tag: "Handlers", byName }
}

export const isHandlers = (u: unknown): u is Handlers =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Handlers" &&
  (u as { byName?: unknown }).byName instanceof Map

/** The names a registry knows, sorted. */
export const names = (handlers: Handlers): ReadonlyArray<string> => [...handlers.byName.keys()].sort()
