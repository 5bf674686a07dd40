// A small terminal emulator for tests of what the CLI draws: it understands what cli/Screen.ts
// writes (line feeds, carriage returns, cursor up, erase below, erase line) and wraps at its
// width as a terminal does, so a test reads the screen a person would see.

export class VirtualTerminal {
  private readonly buffer: Array<string> = [""]
  private row = 0
  private col = 0

  constructor(readonly columns = 80) {}

  readonly write = (s: string): boolean => {
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!
      if (c === "\x1b" && s[i + 1] === "[") {
        const m = /^(\d*)([A-Za-z])/.exec(s.slice(i + 2))
        if (m === null) throw new Error(`unsupported escape at ${JSON.stringify(s.slice(i, i + 8))}`)
        const n = m[1] === "" ? 1 : Number(m[1])
        switch (m[2]) {
          case "A":
            this.row = Math.max(0, this.row - n)
            break
          case "J":
            this.buffer.splice(this.row + 1)
            this.buffer[this.row] = this.line().slice(0, this.col)
            break
          case "K":
            this.buffer[this.row] = this.line().slice(0, this.col)
            break
          default:
            throw new Error(`unsupported escape ${JSON.stringify(m[0])}`)
        }
        i += m[0].length + 1
      } else if (c === "\n") {
        this.row++
        this.col = 0
        while (this.buffer.length <= this.row) this.buffer.push("")
      } else if (c === "\r") {
        this.col = 0
      } else {
        if (this.col >= this.columns) this.write("\n")
        const line = this.line().padEnd(this.col)
        this.buffer[this.row] = line.slice(0, this.col) + c + line.slice(this.col + 1)
        this.col++
      }
    }
    return true
  }

  private line(): string {
    return this.buffer[this.row] ?? ""
  }

  /** The screen's lines, trailing blank ones dropped. */
  get screen(): Array<string> {
    const out = [...this.buffer]
    while (out.length > 0 && out.at(-1) === "") out.pop()
    return out
  }
}
