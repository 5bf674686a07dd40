// The real `troupe start` process for the benchmarks that go over HTTP (SQLite, the benchmark
// handlers), and a keep-alive JSON-RPC caller.
import { spawn } from "node:child_process"
import * as http from "node:http"
import { fileURLToPath } from "node:url"
import { tmpDb } from "./raw.js"

export interface Server {
  readonly url: string
  readonly pid: number
  readonly stop: () => Promise<void>
  /** The server's heap in use after a full collection (MiB): it collects on SIGUSR2 and reports. */
  readonly heapMiB: () => Promise<number>
}

// Preloaded into the server: on SIGUSR2 it collects garbage and prints its heap in use.
const heapProbe = "process.on('SIGUSR2',()=>{globalThis.gc();process.stderr.write('heapUsed '+process.memoryUsage().heapUsed+'\\n')})"

const bin = fileURLToPath(new URL("../src/runtime/main.js", import.meta.url))
const handlersModule = fileURLToPath(new URL("./e2eHandlers.js", import.meta.url))
/** Starts the entrypoint on a free loopback port; its URL and a stop function. */
export const startServer = () =>
  new Promise<Server>((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", `data:text/javascript,${encodeURIComponent(heapProbe)}`, bin, "start", "--port", "0", "--handlers", handlersModule, "--database", tmpDb(), "--num-workers", "1"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    const heapReports: Array<(bytes: number) => void> = []
    child.stderr.on("data", (c: Buffer) => {
      for (const m of c.toString().matchAll(/heapUsed (\d+)/g)) heapReports.shift()?.(Number(m[1]))
    })
    let out = ""
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m !== null) {
        resolve({
          url: m[1]!,
          pid: child.pid!,
          stop: () => new Promise((done) => { child.once("exit", () => done()); child.kill("SIGTERM") }),
          heapMiB: () => new Promise((done) => { heapReports.push((bytes) => done(bytes / 2 ** 20)); child.kill("SIGUSR2") })
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`server exited (${code}):\n${out}`)))
  })

// node:http with a keep-alive agent: on 2 cores, fetch (undici) cost the client ~3× more CPU
// per request than the server spent, and capped what the server could be shown to do.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

export const call = (url: string, body: unknown): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const text = JSON.stringify(body)
    const { hostname, port } = new URL(url)
    const req = http.request(
      { host: hostname, port, path: "/rpc", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) } },
      (res) => {
        let answer = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => { answer += c })
        res.on("end", () => resolve(JSON.parse(answer) as unknown))
      }
    )
    req.on("error", reject)
    req.end(text)
  })

