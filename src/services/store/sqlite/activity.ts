import * as Effect from "effect/Effect"
import type { Log, LogLevel } from "../../../domain/Activity.js"
import type { TaskId } from "../../../domain/TaskId.js"
import { truncationMarker } from "../TaskStore.js"
import type { Pauses } from "../TaskStore.js"
import { chunks, run, tuple, tuples } from "./sql.js"
import type { Sql } from "./sql.js"

// Statements for what running tasks report (log lines, progress) and for pause gates.


/**
 * Appends log lines, keeping at most `cap` per task (tasks.log_count counts them; a count of
 * cap + 1 means the marker is written and later lines are dropped). Lines of unknown tasks
 * are dropped too (the task was deleted while it ran).
 */
export const appendLogs = (lines: ReadonlyArray<Log>, cap: number): Sql<Array<Log>> =>
  Effect.gen(function*() {
    const taskIds = [...new Set(lines.map((l) => l.taskId))]
    const counts = new Map<string, number>()
    for (const chunk of chunks(taskIds)) {
      const rows = yield* run<{ readonly id: string; readonly log_count: number }>(
        `SELECT id, log_count FROM tasks WHERE id IN ${tuple(chunk.length)}`,
        chunk
      )
      for (const row of rows) counts.set(row.id, row.log_count)
    }
    const candidates: Array<Log> = []
    for (const line of lines) {
      const count = counts.get(line.taskId)
      if (count === undefined || count > cap) continue
      candidates.push(count < cap ? line : { ...line, level: "warn", message: truncationMarker(cap) })
      counts.set(line.taskId, count + 1)
    }
    // A line already stored (same attempt and number: a repeat) is neither stored nor counted twice.
    const inserted = new Set<string>()
    for (const chunk of chunks(candidates, 150)) {
      const rows = yield* run<{ readonly task_id: string; readonly attempt: number; readonly n: number }>(
        `INSERT INTO task_logs (task_id, attempt, n, level, message, at) VALUES ${tuples(chunk.length, 6)}
         ON CONFLICT DO NOTHING RETURNING task_id, attempt, n`,
        chunk.flatMap((l) => [l.taskId, l.attempt, l.n, l.level, l.message, l.at])
      )
      for (const r of rows) inserted.add(`${r.task_id}:${r.attempt}:${r.n}`)
    }
    const stored = candidates.filter((l) => inserted.has(`${l.taskId}:${l.attempt}:${l.n}`))
    for (const l of candidates) {
      if (!inserted.has(`${l.taskId}:${l.attempt}:${l.n}`)) counts.set(l.taskId, counts.get(l.taskId)! - 1)
    }
    const touched = taskIds.filter((id) => counts.has(id))
    for (const chunk of chunks(touched)) {
      yield* run(
        `UPDATE tasks SET log_count = CAST(v.column2 AS INTEGER) FROM (VALUES ${tuples(chunk.length, 2)}) AS v WHERE tasks.id = v.column1`,
        chunk.flatMap((id) => [id, counts.get(id)!])
      )
    }
    return stored
  })

export const logs = (id: TaskId): Sql<Array<Log>> =>
  Effect.map(
    run<{ readonly attempt: number; readonly n: number; readonly level: LogLevel; readonly message: string; readonly at: number }>(
      "SELECT attempt, n, level, message, at FROM task_logs WHERE task_id = ? ORDER BY attempt, n",
      [id]
    ),
    (rows) => rows.map((r): Log => ({ _tag: "Log", taskId: id, ...r }))
  )

export const setProgress = (
  items: ReadonlyArray<{ readonly id: TaskId; readonly percent: number; readonly description: string | null }>
): Sql<void> =>
  Effect.forEach(chunks(items), (chunk) =>
    run(
      `UPDATE tasks SET progress = CAST(v.column2 AS DOUBLE PRECISION), description = v.column3
       FROM (VALUES ${tuples(chunk.length, 3)}) AS v WHERE tasks.id = v.column1 AND tasks.status = 'running'`,
      chunk.flatMap((i) => [i.id, i.percent, i.description])
    ), { discard: true })

const QUEUE = "*"
const typeScope = (type: string) => `type:${type}`

export const pauses: Sql<Pauses> = Effect.map(run<{ readonly scope: string }>("SELECT scope FROM pauses", []), (rows) => ({
  queue: rows.some((r) => r.scope === QUEUE),
  types: rows.flatMap((r) => (r.scope.startsWith("type:") ? [r.scope.slice(5)] : [])).sort()
}))

export const setPaused = (scope: { readonly type?: string }, paused: boolean, now: number): Sql<void> => {
  const key = scope.type === undefined ? QUEUE : typeScope(scope.type)
  return Effect.asVoid(
    paused
      ? run("INSERT INTO pauses (scope, at) VALUES (?, ?) ON CONFLICT DO NOTHING", [key, now])
      : run("DELETE FROM pauses WHERE scope = ?", [key])
  )
}
