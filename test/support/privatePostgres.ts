import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

// A PostgreSQL server of the test's own, for what the shared one (127.0.0.1:5432) must not go
// through: being stopped and started mid-run. Made with the machine's own binaries (Debian's
// postgresql package) in a temporary directory, owned by the `postgres` user (the server refuses
// to run as root), on a free loopback port; removed afterwards.

const binaries = () => {
  const root = "/usr/lib/postgresql"
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  const bin = versions.map((v) => path.join(root, v, "bin")).find((dir) => fs.existsSync(path.join(dir, "pg_ctl")))
  if (bin === undefined) throw new Error(`no PostgreSQL server binaries under ${root}: install Debian's postgresql package`)
  return bin
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

export interface PrivatePostgres {
  /** A connection URL to its `postgres` database (superuser `root`, trust auth). */
  readonly url: string
  /** Stops the server: `immediate` is a crash (no checkpoint; recovery from WAL at the next start). */
  readonly stop: (mode: "fast" | "immediate") => void
  readonly start: () => void
  /** Stops it for good and removes its directory. */
  readonly remove: () => void
}

export const privatePostgres = async (): Promise<PrivatePostgres> => {
  const bin = binaries()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-pg-"))
  fs.chmodSync(dir, 0o755)
  execFileSync("chown", ["postgres", dir])
  const data = path.join(dir, "data")
  const asPostgres = (tool: string, args: ReadonlyArray<string>) =>
    execFileSync("runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args], { stdio: "pipe", timeout: 60_000 })
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`
  const start = () => void asPostgres("pg_ctl", ["-D", data, "-l", path.join(dir, "server.log"), "-o", options, "-w", "start"])
  const stop = (mode: "fast" | "immediate") => void asPostgres("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"])
  try {
    asPostgres("initdb", ["-D", data, "-U", "root", "--auth=trust", "--no-sync"])
    start()
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }
  return {
    url: `postgres://root@127.0.0.1:${port}/postgres`,
    stop,
    start,
    remove: () => {
      try {
        stop("immediate")
      } catch {
        // Already stopped.
      }
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
