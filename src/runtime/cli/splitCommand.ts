/**
 * Splits a command line into argv the way a POSIX shell splits words — whitespace separates,
 * single quotes keep everything, double quotes keep all but `\"` and `\\`, a backslash escapes
 * the next character — without any expansion (no variables, globs or pipes: a program runs,
 * not a shell). Undefined when a quote is left open.
 */
export const splitCommand = (line: string): Array<string> | undefined => {
  const out: Array<string> = []
  let word = ""
  let inWord = false
  let quote: "'" | "\"" | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote === "'") {
      if (c === "'") quote = null
      else word += c
    } else if (quote === "\"") {
      if (c === "\"") quote = null
      else if (c === "\\" && (line[i + 1] === "\"" || line[i + 1] === "\\")) word += line[++i]
      else word += c
    } else if (c === "'" || c === "\"") {
      quote = c
      inWord = true
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word)
      word = ""
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (quote !== null) return undefined
  if (inWord) out.push(word)
  return out
}
