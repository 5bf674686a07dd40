/**
 * How long a CLI command takes to start and answer: `troupe --version`, and `troupe status` with
 * no server to reach (it loads the client, tries and exits 3), each as a fresh process, next to
 * a bare `node -e 0` in the same run: wall time, and the CPU time (user + system) the child
 * reports for itself at exit. Prints figures and the machine; asserts nothing.
 */
import { spawnSync } from "node:child_process"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describeMachine, median } from "./machine.js"

// The executable as installed (bin.js: the bundled CLI for client commands), and the same
// commands as compiled, module by module (main.js): the baseline the bundle is measured against.
const bin = fileURLToPath(new URL("../src/runtime/bin.js", import.meta.url))
const compiled = fileURLToPath(new URL("../src/runtime/main.js", import.meta.url))

/** Runs `node …args` and returns its wall time and CPU time (ms), the CPU as the child saw it at exit. */
const timed = (args: ReadonlyArray<string>): { readonly wallMs: number; readonly cpuMs: number } => {
  // The child prints its own CPU time on exit (stderr, last line), whatever the command does.
  const report = "process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('\\ncpu '+((u.userCPUTime+u.systemCPUTime)/1000)+'\\n')})"
  const start = performance.now()
  const result = spawnSync(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(report)}`, ...args], { encoding: "utf8" })
  const wallMs = performance.now() - start
  const cpu = /cpu ([\d.]+)\s*$/.exec(result.stderr)
  return { wallMs, cpuMs: cpu === null ? Number.NaN : Number(cpu[1]) }
}

export const run = async () => {
  const runs = Number(process.env["BENCH_RUNS"] ?? 5)
  const cases = [
    ["node -e 0 (baseline)", ["-e", "0"]],
    ["troupe --version", [bin, "--version"]],
    ["troupe --version, as compiled", [compiled, "--version"]],
    ["troupe status (no server: exit 3)", [bin, "status", "x", "--url", "http://127.0.0.1:9"]],
    ["troupe status, as compiled", [compiled, "status", "x", "--url", "http://127.0.0.1:9"]]
  ] as const
  console.log(`\n# CLI start-up, fresh process each, median of ${runs} — ${describeMachine()}`)
  for (const [name, args] of cases) {
    const samples = Array.from({ length: runs }, () => timed(args))
    const wall = median(samples.map((s) => s.wallMs))
    const cpu = median(samples.map((s) => s.cpuMs))
    console.log(`  ${name.padEnd(36)} ${wall.toFixed(0).padStart(6)} ms wall   ${cpu.toFixed(0).padStart(6)} ms CPU`)
  }
  await Promise.resolve()
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().catch((e: unknown) => {
    console.error(e)
    process.exit(1)
  })
}
