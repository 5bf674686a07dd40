import * as Either from "effect/Either"
import type { NewTask } from "../../domain/Task.js"
import { InvalidDependency } from "../../domain/TaskErrors.js"

/**
 * Rejects a dependency graph with a cycle among the tasks of one submit (a task on itself
 * included). Only these can form one: a task already stored never depends on a task that
 * did not exist when it was stored. Unknown ids are the store's to reject (it sees them
 * inside the insert's transaction).
 */
export const checkAcyclic = (tasks: ReadonlyArray<NewTask>): Either.Either<void, InvalidDependency> => {
  const byId = new Map(tasks.map((t) => [t.id as string, t] as const))
  const state = new Map<string, "visiting" | "done">()
  const visit = (id: string, path: Array<string>): InvalidDependency | undefined => {
    const mark = state.get(id)
    if (mark === "done") return undefined
    if (mark === "visiting") {
      const cycle = [...path.slice(path.indexOf(id)), id]
      return new InvalidDependency({ taskId: id, message: `dependency cycle: ${cycle.join(" → ")}` })
    }
    state.set(id, "visiting")
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dep)) continue
      const found = visit(dep, [...path, id])
      if (found !== undefined) return found
    }
    state.set(id, "done")
    return undefined
  }
  for (const t of tasks) {
    const found = visit(t.id, [])
    if (found !== undefined) return Either.left(found)
  }
  return Either.right(undefined)
}
