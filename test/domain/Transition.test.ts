import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as TaskId from "../../src/domain/TaskId.js"
import * as TaskStatus from "../../src/domain/TaskStatus.js"
import * as Transition from "../../src/domain/Transition.js"

// The full table, written out independently of src/domain/Transition.ts: [event, from] pairs
// that are legal, and where each leads. Every other pair must be an InvalidTransition.
const legal: ReadonlyArray<readonly [Transition.TaskEvent, TaskStatus.TaskStatus, TaskStatus.TaskStatus]> = [
  ["claim", "pending", "running"],
  ["complete", "running", "completed"],
  ["retry", "running", "retrying"],
  ["fail", "running", "failed"],
  ["wake", "delayed", "pending"],
  ["wake", "retrying", "pending"],
  ["release", "running", "pending"],
  ["unblock", "blocked", "pending"],
  ["unblockLater", "blocked", "delayed"],
  ["dependencyFailed", "blocked", "failed"],
  ["dependencyFailed", "paused", "failed"],
  ["cancel", "pending", "cancelled"],
  ["cancel", "blocked", "cancelled"],
  ["cancel", "delayed", "cancelled"],
  ["cancel", "retrying", "cancelled"],
  ["cancel", "running", "cancelled"],
  ["cancel", "paused", "cancelled"],
  ["pause", "pending", "paused"],
  ["pause", "blocked", "paused"],
  ["pause", "delayed", "paused"],
  ["pause", "retrying", "paused"],
  ["resume", "paused", "pending"],
  ["resumeBlocked", "paused", "blocked"],
  ["resumeDelayed", "paused", "delayed"],
  ["manualRetry", "failed", "pending"],
  ["manualRetry", "cancelled", "pending"],
  ["manualRetryBlocked", "failed", "blocked"],
  ["manualRetryBlocked", "cancelled", "blocked"]
]

const id = TaskId.unsafeMake("t-1")

describe("Transition", () => {
  for (const event of Transition.events) {
    for (const from of TaskStatus.all) {
      const expected = legal.find(([e, f]) => e === event && f === from)
      it(`${event} from ${from} is ${expected ? `legal → ${expected[2]}` : "illegal"}`, () => {
        const result = Transition.transition(id, from, event)
        if (expected) {
          expect(result).toStrictEqual(Either.right(expected[2]))
        } else {
          expect(Either.isLeft(result)).toBe(true)
          if (Either.isLeft(result)) {
            expect(result.left._tag).toBe("InvalidTransition")
            expect(result.left.message).toContain(`cannot ${event} while ${from}`)
          }
        }
      })
    }
  }

  it("final statuses only leave through a manual retry", () => {
    for (const from of TaskStatus.finals) {
      const exits = Transition.events.filter((e) => Transition.isLegal(from, e))
      expect(exits.every((e) => e === "manualRetry" || e === "manualRetryBlocked")).toBe(true)
    }
  })
})
