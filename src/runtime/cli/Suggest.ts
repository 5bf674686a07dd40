import * as Command from "@effect/cli/Command"
import * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import type * as Usage from "@effect/cli/Usage"
import * as HashMap from "effect/HashMap"

// "Did you mean": after @effect/cli refused a command line, the closest known command or flag
// to what was typed, read from the commands' own definitions (their usage), never a copy.

/** Edits from `a` to `b`: insertions, deletions, substitutions and swaps of neighbours (typos). */
const distance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 0; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/** The closest of `known` to `typed`, if it is close enough to be a typo. */
export const closest = (typed: string, known: Iterable<string>): string | undefined => {
  let best: string | undefined
  let bestScore = Number.POSITIVE_INFINITY
  for (const name of known) {
    // Ties go to the name as long as what was typed (a swap rather than a letter left out).
    const score = distance(typed.toLowerCase(), name.toLowerCase()) + (name.length === typed.length ? 0 : 0.5)
    if (score < bestScore) [best, bestScore] = [name, score]
  }
  const edits = Math.floor(bestScore)
  const limit = Math.max(1, Math.min(3, Math.floor(typed.length / 3)))
  return bestScore > 0 && edits <= limit ? best : undefined
}

const flagsOf = (usage: Usage.Usage): Array<string> => {
  switch (usage._tag) {
    case "Named":
      return usage.names.filter((n) => n.startsWith("-"))
    case "Optional":
    case "Repeated":
      return flagsOf(usage.usage)
    case "Alternation":
    case "Concat":
      return [...flagsOf(usage.left), ...flagsOf(usage.right)]
    default:
      return []
  }
}

/**
 * A hint for a refused command line (`args`: the words after the program name): the command
 * meant for an unknown one, or the flag meant for each unknown flag of a known command.
 */
export const hint = <Name extends string, R, E, A>(root: Command.Command<Name, R, E, A>, args: ReadonlyArray<string>): string | undefined => {
  const subcommands = Command.getSubcommands(root)
  const [name, ...rest] = args
  if (name === undefined || name.startsWith("-")) return undefined
  const command = HashMap.get(subcommands, name)
  if (command._tag === "None") {
    const meant = closest(name, HashMap.keys(subcommands))
    return meant === undefined ? undefined : `unknown command '${name}': did you mean '${meant}'?`
  }
  const flags = flagsOf(CommandDescriptor.getUsage(command.value))
  const hints = rest
    .filter((word) => word.startsWith("--"))
    .map((word) => word.split("=")[0]!)
    .filter((flag) => !flags.includes(flag))
    .flatMap((flag) => {
      const meant = closest(flag, flags)
      return meant === undefined ? [] : [`unknown flag '${flag}': did you mean '${meant}'?`]
    })
  return hints.length === 0 ? undefined : hints.join("\n")
}

/**
 * The refusal of a command line whose first word names no command (@effect/cli's own lists every
 * command on one line of 200 columns): what was typed, what was probably meant, where the list is.
 */
export const unknownCommand = <Name extends string, R, E, A>(root: Command.Command<Name, R, E, A>, args: ReadonlyArray<string>): string | undefined => {
  const [name] = args
  if (name === undefined || name.startsWith("-")) return undefined
  const subcommands = Command.getSubcommands(root)
  if (HashMap.has(subcommands, name)) return undefined
  const meant = closest(name, HashMap.keys(subcommands))
  return `unknown command '${name}'${meant === undefined ? "" : `: did you mean '${meant}'?`}\n\`troupe --help\` lists the commands`
}
