import * as ParseResult from "effect/ParseResult"
import * as SchemaAST from "effect/SchemaAST"

// A Schema failure as a person reads it: one line per problem, each with the path of the value
// and what was expected there (`params.options.priority: expected "low" | "normal" | "high" |
// "critical" | Int, got "urgent"`), instead of the tree of nested types ParseError prints.

type Key = PropertyKey

const pathText = (root: string, path: ReadonlyArray<Key>): string =>
  path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), root)

const shown = (u: unknown): string => {
  if (u === undefined) return "nothing"
  let text: string
  try {
    text = JSON.stringify(u) ?? String(u)
  } catch {
    text = String(u)
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** One alternative of an expected type, in short: objects and arrays by kind, not by their whole type. */
const kind = (ast: SchemaAST.AST): string => {
  if (SchemaAST.isTypeLiteral(ast)) return "an object"
  if (SchemaAST.isTupleType(ast)) return "an array"
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

const lines = (issue: ParseResult.ParseIssue, path: ReadonlyArray<Key>, root: string): Array<string> => {
  const at = pathText(root, path)
  const where = at === "" ? "" : `${at}: `
  switch (issue._tag) {
    case "Pointer":
      return lines(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path as Key])], root)
    case "Composite": {
      const inner = Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]
      if (!SchemaAST.isUnion(issue.ast)) return inner.flatMap((i) => lines(i, path, root))
      // A union: when one alternative is left once `undefined` (an optional field) is set
      // aside, its own problems are the answer; otherwise say what the union accepts, once.
      const alternatives = inner.filter((i) => !notUndefined(i))
      return alternatives.length === 1
        ? lines(alternatives[0]!, path, root)
        : [`${where}expected ${expected(issue.ast)}, got ${shown(issue.actual)}`]
    }
    case "Refinement": {
      // A check that explains itself (a filter returning a message) is quoted as it is.
      const own = issue.kind === "Predicate" && issue.issue._tag === "Type" ? issue.issue.message : undefined
      if (own !== undefined) return [`${where}${own}`]
      // Otherwise, and when the value is not even of the refined type's base: the refined type.
      return [`${where}expected ${kind(issue.ast)}, got ${shown(issue.actual)}`]
    }
    case "Transformation":
      return lines(issue.issue, path, root)
    case "Missing":
      return [`${where}is missing`]
    case "Unexpected":
      return [`${where}is not allowed here`]
    case "Type":
      return [`${where}${issue.message ?? `expected ${expected(issue.ast)}`}, got ${shown(issue.actual)}`]
    case "Forbidden":
      return [`${where}${issue.message ?? "cannot be checked here"}`]
  }
}

/** One line per problem, each prefixed with its path under `root` (e.g. "params"). */
export const of = (error: ParseResult.ParseError | ParseResult.ParseIssue, root = ""): Array<string> =>
  lines(error._tag === "ParseError" ? error.issue : error, [], root)

/** The problems on one line each, as one message. */
export const message = (error: ParseResult.ParseError | ParseResult.ParseIssue, root = ""): string => of(error, root).join("\n")
