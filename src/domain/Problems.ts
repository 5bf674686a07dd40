import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

// A Schema failure as a person reads it: one line per problem, each with the path of the value
// and what was expected there (`params.options.priority: expected "low" | "normal" | "high" |
// "critical" | Int, got "urgent"`), instead of the tree of nested types ParseError prints.

type Key = PropertyKey

/** At most this many problems are listed; the rest are counted. */
const MAX_LINES = 20

const pathText = (root: string, path: ReadonlyArray<Key>): string =>
  path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), root)

const shown = (u: unknown): string => {
  if (u === undefined) return "nothing"
  if (typeof u === "bigint") return `${u}n`
  let text: string
  try {
    text = JSON.stringify(u) ?? String(u)
  } catch {
    // Too deep or circular: String() of a deep array would recurse as deep.
    text = Array.isArray(u) ? "an array" : typeof u === "object" && u !== null ? "an object" : "a value that cannot be shown"
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** One alternative of an expected type, in short: objects by their keys, not their whole type. */
const kind = (ast: SchemaAST.AST): string => {
  if (SchemaAST.isTypeLiteral(ast)) {
    const keys = ast.propertySignatures.map((p) => String(p.name))
    return keys.length === 0 ? "an object" : `an object with ${keys.join(", ")}`
  }
  if (SchemaAST.isTupleType(ast)) return "an array"
  // A declared type (DurationInput) says what it is in its own words.
  if (SchemaAST.isDeclaration(ast)) {
    const description = SchemaAST.getDescriptionAnnotation(ast)
    if (description._tag === "Some") return description.value
  }
  if (SchemaAST.isRefinement(ast)) {
    // A named type says what it is in its own words.
    const description = SchemaAST.getDescriptionAnnotation(ast)
    if (SchemaAST.getIdentifierAnnotation(ast)._tag === "Some" && description._tag === "Some") return description.value
    // Int.pipe(between(1, 1000)): "an integer and a number between 1 and 1000".
    const described: Array<string> = []
    for (let at: SchemaAST.AST = ast; SchemaAST.isRefinement(at); at = at.from) {
      const description = SchemaAST.getDescriptionAnnotation(at)
      if (description._tag === "Some") described.unshift(description.value)
    }
    if (described.length > 0) return described.join(" and ")
  }
  return String(ast)
}

/** The type expected, without the `undefined` an optional field adds. */
const expected = (ast: SchemaAST.AST): string => {
  const members = SchemaAST.isUnion(ast) ? ast.types.flatMap((t) => (SchemaAST.isUnion(t) ? t.types : [t])) : [ast]
  const wanted = members.filter((t) => !SchemaAST.isUndefinedKeyword(t))
  return [...new Set((wanted.length === 0 ? members : wanted).map(kind))].join(" | ")
}

/** A member's issue that only says "not undefined": the value was given, so it says nothing. */
const notUndefined = (issue: ParseResult.ParseIssue): boolean => issue._tag === "Type" && SchemaAST.isUndefinedKeyword(issue.ast)

/** The schema's own words for this failure (a `message` annotation), when it has them. */
const annotated = (issue: ParseResult.ParseIssue): string | undefined => {
  if (!("ast" in issue)) return undefined
  const annotation = SchemaAST.getMessageAnnotation(issue.ast as SchemaAST.AST)
  if (annotation._tag === "None") return undefined
  const out = annotation.value(issue)
  if (typeof out === "string") return out
  return typeof out === "object" && out !== null && "message" in out && typeof out.message === "string" ? out.message : undefined
}

/** Keys of the actual object that an alternative of a union of objects names. */
const overlap = (ast: SchemaAST.AST, actual: unknown): number =>
  SchemaAST.isTypeLiteral(ast) && typeof actual === "object" && actual !== null
    ? ast.propertySignatures.filter((p) => Object.prototype.hasOwnProperty.call(actual, p.name)).length
    : 0

const lines = (issue: ParseResult.ParseIssue, path: ReadonlyArray<Key>, root: string): Array<string> => {
  const at = pathText(root, path)
  const where = at === "" ? "" : `${at}: `
  const own = annotated(issue)
  if (own !== undefined) return [`${where}${own}`]
  switch (issue._tag) {
    case "Pointer":
      return lines(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path as Key])], root)
    case "Composite": {
      const inner = Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]
      if (!SchemaAST.isUnion(issue.ast)) return inner.flatMap((i) => lines(i, path, root))
      // A union: when one alternative is left once `undefined` (an optional field) is set
      // aside, or one object alternative shares keys with the value, its own problems are the
      // answer; otherwise say what the union accepts, once.
      const alternatives = inner.filter((i) => !notUndefined(i))
      if (alternatives.length === 1) return lines(alternatives[0]!, path, root)
      const scored = alternatives.map((i) => ({ i, score: "ast" in i ? overlap(i.ast as SchemaAST.AST, issue.actual) : 0 }))
      const best = Math.max(0, ...scored.map((s) => s.score))
      const closest = scored.filter((s) => s.score === best)
      if (best > 0 && closest.length === 1) return lines(closest[0]!.i, path, root)
      return [`${where}expected ${expected(issue.ast)}, got ${shown(issue.actual)}`]
    }
    case "Refinement": {
      // The value is not of the refined type's base: a scalar is told the refined type ("an
      // integer"); a structure its own problems, with their paths.
      if (issue.kind === "From" && issue.issue._tag !== "Type") return lines(issue.issue, path, root)
      if (issue.kind === "From") return [`${where}expected ${kind(issue.ast)}, got ${shown(issue.actual)}`]
      // A check that explains itself (a filter returning a message) is quoted as it is.
      const message = issue.issue._tag === "Type" ? issue.issue.message : undefined
      if (message !== undefined) return [`${where}${message}`]
      return [`${where}expected ${kind(issue.ast)}, got ${shown(issue.actual)}`]
    }
    case "Transformation":
      return lines(issue.issue, path, root)
    case "Missing":
      return [`${where}is missing`]
    case "Unexpected":
      return [`${where}is not allowed here`]
    case "Type":
      return [`${where}${issue.message ?? `expected ${expected(issue.ast)}, got ${shown(issue.actual)}`}`]
    case "Forbidden":
      return [`${where}${issue.message ?? "cannot be checked here"}`]
  }
}

/** One line per problem (at most 20, then a count), each prefixed with its path under `root` (e.g. "params"). */
export const of = (error: ParseResult.ParseError | ParseResult.ParseIssue, root = ""): Array<string> => {
  const all = lines(error._tag === "ParseError" ? error.issue : error, [], root)
  return all.length <= MAX_LINES ? all : [...all.slice(0, MAX_LINES), `…and ${all.length - MAX_LINES} more problems`]
}

/** The problems on one line each, as one message. */
export const message = (error: ParseResult.ParseError | ParseResult.ParseIssue, root = ""): string => of(error, root).join("\n")

/** Whether `u` holds at most `limit` values in all (a bounded walk). */
const small = (u: unknown, limit: number): boolean => {
  const stack: Array<unknown> = [u]
  let seen = 0
  for (let next = stack.pop(); next !== undefined || stack.length > 0; next = stack.pop()) {
    if (++seen > limit) return false
    if (typeof next === "object" && next !== null) for (const child of Array.isArray(next) ? next : Object.values(next)) stack.push(child)
  }
  return true
}

/**
 * Reports every problem when the input is small and only the first when it is large:
 * collecting every problem of a 400,000-element array took seconds and megabytes.
 */
const reporting = <B>(first: (u: unknown) => Either.Either<B, ParseResult.ParseError>, all: (u: unknown) => Either.Either<B, ParseResult.ParseError>) =>
(u: unknown): Either.Either<B, ParseResult.ParseError> => {
  const once = first(u)
  return Either.isLeft(once) && small(u, 1000) ? all(u) : once
}

/** Schema.decodeUnknownEither, with the problems reported as above. */
export const decodeUnknownEither = <A, I>(schema: Schema.Schema<A, I>) =>
  reporting(Schema.decodeUnknownEither(schema), Schema.decodeUnknownEither(schema, { errors: "all" }))

/** Schema.encodeUnknownEither (a payload given as its Type side), with the problems reported as above. */
export const encodeUnknownEither = <A, I>(schema: Schema.Schema<A, I>) =>
  reporting(Schema.encodeUnknownEither(schema), Schema.encodeUnknownEither(schema, { errors: "all" }))
