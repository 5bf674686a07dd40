/**
 * Splits a program's decoded output into lines as a terminal shows them: `\n`, `\r\n` and a
 * bare `\r` (progress output of ffmpeg, curl, pip) each end a line, and a line longer than
 * `max` characters is cut into pieces, so output without line breaks cannot grow one string
 * for the whole run. A `\r` at the end of a chunk waits for the next one (it may be `\r\n`).
 */
export interface LineSplitter {
  /** The complete lines this text finishes. */
  readonly push: (text: string) => Array<string>
  /** What is left at the end of the output (a last line without a line break), if anything. */
  readonly end: () => Array<string>
}

export const make = (max: number): LineSplitter => {
  let carry = ""
  const cut = (lines: Array<string>): Array<string> => {
    while (carry.length > max) {
      lines.push(carry.slice(0, max))
      carry = carry.slice(max)
    }
    return lines
  }
  return {
    push: (text) => {
      carry += text
      const lines: Array<string> = []
      let start = 0
      for (let i = 0; i < carry.length; i++) {
        const c = carry.charCodeAt(i)
        if (c !== 10 && c !== 13) continue
        if (c === 13 && i === carry.length - 1) break
        lines.push(carry.slice(start, i))
        if (c === 13 && carry.charCodeAt(i + 1) === 10) i++
        start = i + 1
      }
      carry = carry.slice(start)
      return cut(lines)
    },
    end: () => {
      const last = carry.endsWith("\r") ? carry.slice(0, -1) : carry
      carry = ""
      return last.length > 0 ? [last] : []
    }
  }
}
