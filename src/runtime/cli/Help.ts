import * as CliConfig from "@effect/cli/CliConfig"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Usage from "@effect/cli/Usage"
import * as HashSet from "effect/HashSet"

// Help that fits a terminal of 80 columns. @effect/cli prints each command's whole synopsis on
// one line (200 columns for `submit`) and does not wrap descriptions; its help documents are
// kept (the sections, the option texts) and laid out here: words wrapped, a synopsis broken
// between its flags, the command list as name and description.

export const width = 80

const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
  }
}

/** Words of `text` in lines of at most `width` columns, each starting with `indent`. */
export const wrap = (text: string, indent: string, first = indent, columns = width): Array<string> => {
  const lines: Array<string> = []
  let line = first
  let empty = true
  for (const word of text.split(/[ \t\n]+/).filter((w) => w.length > 0)) {
    if (!empty && line.length + 1 + word.length > columns) {
      lines.push(line)
      line = indent
      empty = true
    }
    line += empty ? word : ` ${word}`
    empty = false
  }
  lines.push(line)
  return lines
}

/** A synopsis broken between its elements (`[--url text]` stays whole). */
const synopsis = (text: string, indent: string): Array<string> => {
  const parts = text.match(/\[[^\]]*\]|<[^>]*>|\([^)]*\)|\S+/g) ?? []
  return wrap(parts.map((p) => p.replace(/ /g, "\u00a0")).join(" "), indent + "    ", indent).map((l) => l.replace(/\u00a0/g, " "))
}

const docLines = (doc: HelpDoc.HelpDoc, indent: string): Array<string> => {
  switch (doc._tag) {
    case "Empty":
      return []
    case "Header":
      return ["", `${indent}${spanText(doc.value).toUpperCase()}`]
    case "Paragraph":
      return [...wrap(spanText(doc.value), indent), ""]
    case "DescriptionList":
      return doc.definitions.flatMap(([term, body]) => definition(spanText(term), paragraphs(body), indent))
    case "Enumeration":
      return doc.elements.flatMap((e) => docLines(e, `${indent}  `))
    case "Sequence":
      return [...docLines(doc.left, indent), ...docLines(doc.right, indent)]
  }
}

const paragraphs = (doc: HelpDoc.HelpDoc): Array<string> =>
  doc._tag === "Paragraph" ? [spanText(doc.value)]
  : doc._tag === "Sequence" ? [...paragraphs(doc.left), ...paragraphs(doc.right)]
  : doc._tag === "Enumeration" ? doc.elements.flatMap(paragraphs)
  : doc._tag === "DescriptionList" ? doc.definitions.flatMap(([, d]) => paragraphs(d))
  : []

/** What @effect/cli says of every option of a kind: the kind shows in the term already. */
const boilerplate = /^(A user-defined piece of text.*|A true or false value\.|An integer\.|A floating point number\.|This option can be set from environment variables\.|This setting is optional\.|An optional setting\.)$/

/** An option or argument: its term (in brackets when optional), then what it is for. */
const definition = (term: string, texts: ReadonlyArray<string>, indent: string): Array<string> => {
  const optional = texts.some((t) => t === "This setting is optional." || t === "This option can be set from environment variables.") && !term.startsWith("[")
  const said = texts.filter((t) => !boilerplate.test(t))
  return [`${indent}${optional ? `[${term}]` : term}`, ...said.flatMap((t) => wrap(t, `${indent}      `)), ""]
}

const tidy = (lines: ReadonlyArray<string>): string =>
  lines.join("\n").replace(/\n{3,}/g, "\n\n").replace(/^\n+/, "").replace(/\n+$/, "") + "\n"

const config = CliConfig.make({ showBuiltIns: false })

/** A command as far as its help goes (`Command.descriptor`). */
type AnyCommand = { readonly descriptor: Descriptor.Command<unknown> }

/** One command's help: its synopsis, then its description, arguments and options. */
export const command = (program: string, cmd: AnyCommand): string => {
  const usage = docLines(Usage.getHelp(Descriptor.getUsage(cmd.descriptor)), "").join(" ").trim()
  return tidy([
    "USAGE",
    ...synopsis(`${program} ${usage}`, "  "),
    ...docLines(Descriptor.getHelp(cmd.descriptor, config), "  ").map((l) => (/^ {2}[A-Z]+$/.test(l) ? l.trim() : l))
  ])
}

/** The top-level help: what troupe is, then each command with what it does. */
export const overview = (program: string, description: string, commands: ReadonlyArray<AnyCommand>): string => {
  const names = commands.map((c) => [...HashSet.values(Descriptor.getNames(c.descriptor))][0] ?? "")
  const descriptions = commands.map((c) => {
    const doc = Descriptor.getHelp(c.descriptor, config)
    const first = (d: HelpDoc.HelpDoc): string | undefined =>
      d._tag === "Paragraph" ? spanText(d.value) : d._tag === "Sequence" ? first(d.left) ?? first(d.right) : undefined
    return first(doc) ?? ""
  })
  const column = Math.max(...names.map((n) => n.length)) + 4
  return tidy([
    ...wrap(`${program}: ${description}`, ""),
    "",
    "USAGE",
    `  ${program} <command> [options]    ${program} <command> --help: its options`,
    "",
    "COMMANDS",
    ...names.flatMap((name, i) => wrap(descriptions[i]!, " ".repeat(column + 2), `  ${name.padEnd(column)}`)),
    "",
    "OPTIONS",
    `  --version                 print the version`,
    `  --log-level LEVEL         all, trace, debug, info, warning, error, fatal, none`,
    `  --completions SHELL       a completion script for sh, bash, fish or zsh`
  ])
}

/** The help asked for by `args` (argv after the program), if any: `-h`/`--help` or nothing at all. */
export const requested = (
  program: string,
  description: string,
  commands: ReadonlyArray<AnyCommand>,
  args: ReadonlyArray<string>
): string | undefined => {
  // Anywhere, even past a `--`: @effect/cli's parser takes `--help` wherever it is, so help is
  // what the command line gets either way; this way it is laid out for 80 columns.
  const asked = args.includes("--help") || args.includes("-h")
  if (args.length === 0 || (asked && (args[0] === "--help" || args[0] === "-h"))) return overview(program, description, commands)
  if (!asked) return undefined
  const cmd = commands.find((c) => HashSet.has(Descriptor.getNames(c.descriptor), args[0]!))
  return cmd === undefined ? undefined : command(program, cmd)
}
