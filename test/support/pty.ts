import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { bin, eventually } from "./process.js"

// A pseudo-terminal for tests of what a person sees: a command runs in a tmux session of a set
// size (its own tmux server, by a socket name of its own), keys are sent to it, and its screen
// (with the lines scrolled off it) is read back as text. Waits poll the screen (`eventually`).

let sessions = 0

export interface Terminal {
  /** The screen's lines, with the scrollback above them; trailing blank lines dropped. */
  readonly screen: () => Array<string>
  /** Sends keys as tmux names them ("C-c", "Enter") or literal text. */
  readonly keys: (...keys: ReadonlyArray<string>) => void
  /** Polls the screen until `check` holds (or throws with the last screen). */
  readonly until: (check: (lines: ReadonlyArray<string>) => boolean) => Promise<Array<string>>
  /** Waits for the command to end; its exit code and what it printed (the `[exited]` line left out). */
  readonly exited: () => Promise<{ readonly code: number; readonly lines: Array<string> }>
  /** Ends the session and its tmux server (the command gets SIGHUP). */
  readonly close: () => void
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * Runs `troupe ARGS` in an 80×24 (or `columns`×`rows`) terminal. When it ends, `[exited N]`
 * is printed below what it printed, and the screen stays readable.
 */
export const troupe = (args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly columns?: number; readonly rows?: number } = {}): Terminal => {
  const socket = `troupe-test-${process.pid}-${sessions++}`
  const config = path.join(os.tmpdir(), `${socket}.conf`)
  fs.writeFileSync(config, "set -g history-limit 5000\n")
  const tmux = (...a: ReadonlyArray<string>) =>
    execFileSync("tmux", ["-L", socket, "-f", config, ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  const env = Object.entries({ TERM: "xterm-256color", NO_COLOR: "", ...options.env }).map(([k, v]) => `${k}=${quote(v)}`).join(" ")
  // A shell around it prints how it exited and keeps the pane (tmux may drop what a command
  // wrote just before its pane died). Its trap only keeps it alive through Ctrl-C: the command
  // gets SIGINT as usual (a trapped signal is reset to the default in a child).
  const run = `env ${env} ${quote(process.execPath)} ${quote(bin)} ${args.map(quote).join(" ")}`
  const command = `sh -c ${quote(`trap : INT; ${run}; echo "[exited $?]"; sleep 3600`)}`
  tmux("new-session", "-d", "-s", "t", "-x", String(options.columns ?? 80), "-y", String(options.rows ?? 24), command)
  const screen = () => {
    const lines = tmux("capture-pane", "-p", "-t", "t", "-S", "-2000").split("\n")
    while (lines.length > 0 && lines.at(-1)!.trim() === "") lines.pop()
    return lines.map((l) => l.trimEnd())
  }
  return {
    screen,
    keys: (...keys) => void tmux("send-keys", "-t", "t", ...keys),
    until: (check) => eventually(async () => screen(), check),
    exited: async () => {
      const lines = await eventually(async () => screen(), (ls) => ls.some((l) => /^\[exited \d+\]$/.test(l)))
      const at = lines.findIndex((l) => /^\[exited \d+\]$/.test(l))
      return { code: Number(/\d+/.exec(lines[at]!)![0]), lines: lines.slice(0, at) }
    },
    close: () => {
      try {
        tmux("kill-server")
      } catch {
        // already gone
      }
      fs.rmSync(config, { force: true })
    }
  }
}
