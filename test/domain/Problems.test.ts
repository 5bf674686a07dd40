import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { DurationInput } from "../../src/domain/DurationInput.js"
import * as Problems from "../../src/domain/Problems.js"

const problems = <A, I>(schema: Schema.Schema<A, I>, u: unknown) => {
  const decoded = Problems.decodeUnknownEither(schema)(u)
  return Either.isLeft(decoded) ? Problems.of(decoded.left, "params") : []
}

describe("Problems", () => {
  it("a union of objects answers for the alternative the value names", () => {
    const Target = Schema.Union(Schema.Struct({ id: Schema.String.pipe(Schema.pattern(/^[a-z]+$/)) }), Schema.Struct({ queue: Schema.Literal(true) }))
    expect(problems(Target, { id: "Bad!" })).toStrictEqual([`params.id: expected a string matching the pattern ^[a-z]+$, got "Bad!"`])
    expect(problems(Target, {})).toStrictEqual([`params: expected an object with id | an object with queue, got {}`])
  })

  it("a filtered struct keeps the paths of its fields; a schema's own message is used", () => {
    const Env = Schema.Struct({ env: Schema.Record({ key: Schema.String, value: Schema.String }) }).pipe(Schema.filter(() => true))
    expect(problems(Env, { env: { A: 1 } })).toStrictEqual([`params.env.A: expected string, got 1`])
    const Argv = Schema.Struct({ argv: Schema.Array(Schema.String.pipe(Schema.minLength(1, { message: () => "argv entries must not be empty" }))) })
    expect(problems(Argv, { argv: ["ls", ""] })).toStrictEqual([`params.argv[1]: argv entries must not be empty`])
  })

  it("lists at most 20 problems; a large input reports its first only", () => {
    const Ids = Schema.Struct({ ids: Schema.Array(Schema.String) })
    const thirty = problems(Ids, { ids: Array.from({ length: 30 }, (_, i) => i) })
    expect(thirty.length).toBe(21)
    expect(thirty[20]).toBe("…and 10 more problems")
    expect(problems(Ids, { ids: Array.from({ length: 400_000 }, (_, i) => i) })).toStrictEqual([`params.ids[0]: expected string, got 0`])
  })

  it("shows what it cannot print as JSON without failing", () => {
    expect(problems(Schema.Struct({ n: Schema.Number }), { n: 10n })).toStrictEqual([`params.n: expected number, got 10n`])
  })
})

describe("DurationInput", () => {
  it("takes milliseconds, text and Durations; refuses what Effect would read as zero (negative, NaN) and non-durations", () => {
    const ok = Schema.is(DurationInput)
    expect([0, 1500, "30 seconds", "5 minutes", Duration.seconds(3)].every(ok)).toBe(true)
    expect([-5, Number.NaN, "-5 seconds", "soon", {}, null].some(ok)).toBe(false)
  })
})
