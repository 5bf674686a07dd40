import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Problems from "../domain/Problems.js"
import type { TaskContext } from "../domain/TaskDefinition.js"
import type { WireTask } from "./Protocol.js"

// What a handler reads of the tasks it depends on: their results, as the claim brought them
// (encoded), decoded by the definition the handler names. Asking for what is not there is a
// bug in the handler: the attempt dies saying what there is.

type Input = NonNullable<WireTask["inputs"]>[number]

const describe = (inputs: ReadonlyArray<Input>) =>
  inputs.length === 0 ? "it has none" : `its dependencies: ${inputs.map((i) => `${i.id} (${i.type})`).join(", ")}`

const decode = <S, SI>(taskId: string, input: Input, success: Schema.Schema<S, SI>): Effect.Effect<S> =>
  Either.match(Problems.decodeUnknownEither(success)(input.result), {
    onLeft: (e) => Effect.dieMessage(`task ${taskId}: the result of its dependency ${input.id} (${input.type}) does not decode: ${e.message}`),
    onRight: (value) => Effect.succeed(value)
  })

const gone = (taskId: string, missing: ReadonlyArray<string>) =>
  Effect.dieMessage(
    `task ${taskId}: the results of its dependencies ${missing.join(", ")} are no longer stored (deleted, or purged by retention since they completed)`
  )

/**
 * `ctx.dependency` and `ctx.dependencies` over a task's inputs. Results no longer stored are
 * not silently left out: a fan-in over fewer results than it depends on would be wrong.
 */
export const make = (
  taskId: string,
  inputs: ReadonlyArray<Input>,
  missing: ReadonlyArray<string>
): Pick<TaskContext, "dependency" | "dependencies"> => ({
  dependency: (definition, id) =>
    Effect.suspend(() => {
      if (missing.includes(id)) return gone(taskId, [id])
      const input = inputs.find((i) => i.id === id)
      if (input === undefined || input.type !== definition.name) {
        return Effect.dieMessage(
          `task ${taskId}: ctx.dependency(${definition.name}, ${id}): not one of its dependencies of type ${definition.name} (${describe(inputs)})`
        )
      }
      return decode(taskId, input, definition.success)
    }),
  dependencies: (definition) =>
    missing.length > 0
      ? gone(taskId, missing)
      : Effect.forEach(inputs.filter((i) => i.type === definition.name), (input) => decode(taskId, input, definition.success))
})
