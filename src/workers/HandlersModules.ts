import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { pathToFileURL } from "node:url"
import * as Handlers from "./Handlers.js"

/**
 * Handlers modules: compiled modules that default-export Handlers.make(...). Worker threads and
 * the main thread load the same list, so both know the same task types.
 */

export class HandlersLoadError extends Data.TaggedError("HandlersLoadError")<{ readonly message: string }> {}

/** One path, several, or none (config and worker data allow each). */
export type Modules = string | ReadonlyArray<string> | undefined

export const list = (modules: Modules): ReadonlyArray<string> =>
  modules === undefined ? [] : typeof modules === "string" ? [modules] : modules

const toUrl = (path: string): string => (path.startsWith("file:") ? path : pathToFileURL(path).href)

const loadOne = (path: string): Effect.Effect<Handlers.Any, HandlersLoadError> =>
  Effect.tryPromise({
    try: () => import(toUrl(path)) as Promise<{ readonly default?: unknown }>,
    catch: (cause) => new HandlersLoadError({ message: `cannot load handlers module ${path}: ${String(cause)}` })
  }).pipe(
    Effect.filterOrFail(
      (mod): mod is { readonly default: Handlers.Any } => Handlers.isHandlers(mod.default),
      () => new HandlersLoadError({ message: `handlers module ${path} must default-export Handlers.make(...)` })
    ),
    Effect.map((mod) => mod.default)
  )

/** Loads every module and merges them with `extra`; a task name defined twice is refused. */
export const load = (
  modules: Modules,
  extra: ReadonlyArray<Handlers.Any> = []
): Effect.Effect<Handlers.Any, HandlersLoadError> =>
  Effect.forEach(list(modules), loadOne).pipe(
    Effect.flatMap((loaded) =>
      Either.match(Handlers.merge([...loaded, ...extra]), {
        onLeft: (name) =>
          Effect.fail(new HandlersLoadError({ message: `task type "${name}" is defined twice (in ${list(modules).join(", ") || "the registry"}${extra.length > 0 ? " or the built-in types" : ""})` })),
        onRight: Effect.succeed
      })
    )
  )
