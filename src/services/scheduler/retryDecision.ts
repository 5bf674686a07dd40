import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Priority from "../../domain/Priority.js"
import * as Rank from "../../domain/Rank.js"
import * as RetryPolicy from "../../domain/RetryPolicy.js"
import type { Claimed } from "../../domain/Task.js"
import type { Failure } from "../store/TaskStore.js"
import type { AttemptError } from "../../domain/TaskErrors.js"

/**
 * What follows a failed attempt: the retry policy's Schedule gives the delay, which becomes a
 * stored run-at (never an in-memory sleep), or the task fails for good.
 */
export const decide = (
  task: Claimed,
  error: AttemptError,
  now: number,
  agingStepMs: number
): Effect.Effect<Failure> =>
  Effect.map(RetryPolicy.nextDelay(task.retry, task.attempt), (delay) =>
    Option.match(delay, {
      onNone: (): Failure => ({ id: task.id, token: task.token, error, next: { _tag: "Fail" } }),
      onSome: (d): Failure => {
        const runAt = now + Math.round(Duration.toMillis(d))
        const priority = Priority.clamp(task.priority - task.retry.priorityDecrease)
        return {
          id: task.id,
          token: task.token,
          error,
          next: { _tag: "Retry", runAt, priority, rank: Rank.rank(runAt, priority, agingStepMs) }
        }
      }
    }))
