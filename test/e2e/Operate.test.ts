import { describe, expect, it } from "@effect/vitest"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Server } from "../support/process.js"
import { cli, eventually, operateHandlers, recoveryHandlers, rpc, serverForFile, startServer, threadHandlers } from "../support/process.js"

// The entrypoint and the CLI as an operator uses them: `troupe start` in its own process on a
// loopback port, the real `troupe` executable against it. Exit codes and --json output are the
// contract scripts rely on (README, "Exit codes").

const server = serverForFile("troupe-operate-")
const dir = server.dir

const json = (s: string): unknown => JSON.parse(s)

/** What a `troupe start` that must not start printed before it exited. */
const refused = async (args: ReadonlyArray<string>, env: Record<string, string> = {}, port = 0): Promise<string> => {
  const error = await startServer(args, env, port).then(
    async (started) => {
      started.process.kill("SIGTERM")
      await started.exited
      return new Error("the server started")
    },
    (e: Error) => e
  )
  return error.message
}

/** Runs `body` against a server of its own, stopped afterwards whatever happens. */
const withServer = async (args: ReadonlyArray<string>, env: Record<string, string>, body: (s: Server) => Promise<void>) => {
  const own = await startServer(args, env)
  try {
    await body(own)
  } finally {
    own.process.kill("SIGTERM")
    await own.exited
  }
}

describe("troupe start + the CLI", () => {
  it("submit, status, list, logs and health, with exit codes and --json", async () => {
    const submitted = await cli(server.url, ["submit", "echo", `{"n": 7}`, "--json"])
    expect(submitted.code).toBe(0)
    const { id } = json(submitted.stdout) as { id: string }

    const waited = await cli(server.url, ["submit", "talk", `{"lines": 5}`, "--wait", "--json"])
    expect(waited.code).toBe(0)
    const talk = json(waited.stdout.slice(waited.stdout.indexOf("{\n"))) as { id: string; status: string; result: number }
    expect(talk).toMatchObject({ status: "completed", result: 5 })

    const status = await eventually(() => cli(server.url, ["status", id, "--json"]), (r) => (json(r.stdout) as { status: string }).status === "completed")
    expect(json(status.stdout)).toMatchObject({ id, type: "echo", status: "completed", result: { n: 7 }, attempt: 1 })
    const human = await cli(server.url, ["status", id])
    expect(human.stdout).toMatch(/status\s+completed/)

    const list = await cli(server.url, ["list", "--status", "completed", "--json"])
    expect(list.code).toBe(0)
    const ids = (json(list.stdout) as Array<{ id: string }>).map((t) => t.id)
    expect(ids).toEqual(expect.arrayContaining([id, talk.id]))
    const table = await cli(server.url, ["list", "--type", "talk"])
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+TYPE\s+STATUS/)
    expect(table.stdout).toContain(talk.id)

    const logs = await cli(server.url, ["logs", talk.id, "--json"])
    expect(logs.code).toBe(0)
    const lines = logs.stdout.trim().split("\n").map((l) => json(l) as { n: number; level: string; message: string })
    expect(lines.map((l) => l.message)).toEqual(["line 1", "line 2", "line 3", "line 4", "line 5"])
    expect(lines[1]!.level).toBe("warn")
    const followed = await cli(server.url, ["logs", talk.id, "--follow"])
    expect(followed.stdout).toContain("line 5")

    const health = await cli(server.url, ["health", "--json"])
    expect(health.code).toBe(0)
    expect(json(health.stdout)).toMatchObject({ level: "healthy" })
    const stats = await cli(server.url, ["stats", "--json"])
    expect(json(stats.stdout)).toMatchObject({ counts: { byStatus: { completed: expect.any(Number) } } })
  }, 120_000)

  it("submit checks its options before any call: no server needed to be told", async () => {
    const nowhere = "http://127.0.0.1:9"
    const bad = await cli(nowhere, ["submit", "echo", "{}", "--priority", "urgent"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(`troupe: invalid params for submit: params.options.priority: expected "low" | "normal" | "high" | "critical"`)
    const deep = `${"[".repeat(100)}${"]".repeat(100)}`
    const tooDeep = await cli(nowhere, ["submit", "echo", deep])
    expect(tooDeep.code).toBe(2)
    expect(tooDeep.stderr).toContain("troupe: invalid params: nested more than 64 levels deep (the limit)")
    // A good one gets as far as the call (nothing listens there: exit 3).
    expect((await cli(nowhere, ["submit", "echo", "{}", "--priority", "high"])).code).toBe(3)
  }, 60_000)

  it("a mistyped command or flag exits 2 and names what was probably meant", async () => {
    const command = await cli(server.url, ["sumbit", "echo", "{}"])
    expect(command.code).toBe(2)
    expect(command.stderr).toContain("troupe: unknown command 'sumbit': did you mean 'submit'?")
    const flag = await cli(server.url, ["list", "--statuss", "running"])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain("troupe: unknown flag '--statuss': did you mean '--status'?")
  }, 60_000)

  it("cancel stops a running task; --wait reports failure and cancellation in its exit code", async () => {
    const gate = path.join(dir, "never-opened")
    const started = await cli(server.url, ["submit", "gate", JSON.stringify({ file: gate }), "--json"])
    const { id } = json(started.stdout) as { id: string }
    await eventually(() => rpc(server.url, "get", { id }), (r) => (r.result as { status: string }).status === "running")
    const cancelled = await cli(server.url, ["cancel", id])
    expect(cancelled).toMatchObject({ code: 0, stdout: `cancelled ${id}\n` })
    await eventually(() => rpc(server.url, "get", { id }), (r) => (r.result as { status: string }).status === "cancelled")
    const waitCancelled = await cli(server.url, ["watch", id])
    expect(waitCancelled.code).toBe(11)
    const again = await cli(server.url, ["cancel", id])
    expect(again.code).toBe(5)
    expect(again.stderr).toContain("InvalidTransition")

    const failed = await cli(server.url, ["submit", "fail", "{}", "--wait"])
    expect(failed.code).toBe(10)
    expect(failed.stdout).toContain("it never works")
    // The id first, so a task followed with --wait can be found again after a Ctrl-C.
    expect(failed.stdout.split("\n")[0]).toMatch(/^[0-9a-f]{12}-[0-9a-f]{16}$/)
  }, 120_000)

  it("bad input gets its documented exit code and a clear message; the server stays up", async () => {
    const notFound = await cli(server.url, ["status", "no-such-task"])
    expect(notFound.code).toBe(4)
    expect(notFound.stderr).toContain("TaskNotFound")
    const unknownType = await cli(server.url, ["submit", "nope", "{}"])
    expect(unknownType.code).toBe(5)
    expect(unknownType.stderr).toContain("UnknownTaskType")
    const badPayload = await cli(server.url, ["submit", "echo", `{"n": "seven"}`])
    expect(badPayload.code).toBe(5)
    expect(badPayload.stderr).toContain("InvalidPayload")
    const badJson = await cli(server.url, ["submit", "echo", "{n: 7"])
    expect(badJson.code).toBe(2)
    const badFlag = await cli(server.url, ["list", "--no-such-flag"])
    expect(badFlag.code).toBe(2)
    const pauseWhat = await cli(server.url, ["pause"])
    expect(pauseWhat.code).toBe(2)
    const commandsOff = await cli(server.url, ["submit", "--command", "echo hi"])
    expect(commandsOff.code).toBe(5)
    expect(commandsOff.stderr).toContain("--allow-commands")
    const down = await cli("http://127.0.0.1:9", ["health"])
    expect(down.code).toBe(3)
    expect((await cli(server.url, ["health"])).code).toBe(0)
  }, 120_000)

  it("bad RPC input gets the right code; the server stays up and the store is intact", async () => {
    const post = async (body: string) => {
      const res = await fetch(`${server.url}/rpc`, { method: "POST", body, headers: { "content-type": "application/json" } })
      return { status: res.status, body: await res.json() as unknown }
    }
    const total = async () => Object.values((await rpc(server.url, "counts")).result as Record<string, number>).reduce((a, b) => a + b, 0)
    const before = await total()

    expect(await post("{oops")).toMatchObject({ body: { id: null, error: { code: -32700 } } })
    expect(await post(JSON.stringify({ jsonrpc: "1.0", id: 1, method: "health" }))).toMatchObject({ body: { id: 1, error: { code: -32600 } } })
    expect(await post(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "explode" }))).toMatchObject({ body: { id: 2, error: { code: -32601 } } })
    expect(await post(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "submit", params: { type: 5, payload: {} } })))
      .toMatchObject({ body: { id: 3, error: { code: -32602 } } })
    expect(await post(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "list", params: { limit: "ten" } })))
      .toMatchObject({ body: { id: 4, error: { code: -32602 } } })
    const huge = await post(JSON.stringify({ jsonrpc: "2.0", id: 5, method: "submit", params: { type: "echo", payload: { n: 1, pad: "x".repeat(2 * 1024 * 1024) } } }))
    expect(huge).toMatchObject({ status: 413, body: { error: { code: -32600 } } })

    const batch = await post(JSON.stringify([
      { jsonrpc: "2.0", id: "ok", method: "submit", params: { type: "echo", payload: { n: 42 } } },
      { jsonrpc: "2.0", id: "health", method: "health" },
      { jsonrpc: "1.0", id: "old", method: "health" },
      { jsonrpc: "2.0", id: "method", method: "nope" },
      { jsonrpc: "2.0", id: "params", method: "get", params: { id: 12 } },
      { jsonrpc: "2.0", id: "payload", method: "submit", params: { type: "echo", payload: { n: "x" } } },
      "not even an object"
    ]))
    const answers = batch.body as Array<{ id: string | null; result?: unknown; error?: { code: number } }>
    expect(answers.map((a) => [a.id, a.error?.code ?? "ok"])).toEqual([
      ["ok", "ok"], ["health", "ok"], ["old", -32600], ["method", -32601], ["params", -32602], ["payload", -32004], [null, -32600]
    ])
    // Only the one valid submit was stored; the server still answers.
    expect(await total()).toBe(before + 1)
    expect((await cli(server.url, ["health"])).code).toBe(0)
  }, 60_000)

  it("schedule, schedules and unschedule: occurrences stored once each, bad schedules refused with the reason", async () => {
    const made = await cli(server.url, ["schedule", "tick", "echo", `{"n": 7}`, "--every", "1 second"])
    expect(made.code).toBe(0)
    expect(made.stdout).toMatch(/tick\s+echo\s+every 1\.0 s\s+run once/)
    const listed = json((await cli(server.url, ["schedules", "--json"])).stdout) as Array<{ name: string; type: string; everyMs: number }>
    expect(listed.map((s) => [s.name, s.type, s.everyMs])).toStrictEqual([["tick", "echo", 1000]])
    // Occurrences arrive as tasks of the type, each with its own occurrence key.
    const ticks = await eventually(
      async () => ((await rpc(server.url, "list", { type: "echo", limit: 1000 })).result as Array<{ idempotencyKey: string | null; status: string }>)
        .filter((t) => t.idempotencyKey?.startsWith("troupe:schedule:tick:") === true),
      (ts) => ts.length >= 2 && ts.every((t) => t.status === "completed")
    )
    expect(new Set(ticks.map((t) => t.idempotencyKey)).size).toBe(ticks.length)
    const removed = await cli(server.url, ["unschedule", "tick"])
    expect([removed.code, removed.stdout.trim()]).toStrictEqual([0, "unscheduled tick"])
    expect((await cli(server.url, ["unschedule", "tick"])).stdout.trim()).toBe("no schedule named tick: nothing changed")
    const bad = await cli(server.url, ["schedule", "nightly", "echo", `{"n": 1}`, "--cron", "0 25 * * *"])
    expect(bad.code).toBe(5)
    expect(bad.stderr).toContain(`InvalidSchedule: schedule "nightly": cron "0 25 * * *"`)
    const both = await cli(server.url, ["schedule", "nightly", "echo", "--cron", "0 3 * * *", "--every", "1 hour"])
    expect(both.stderr).toContain("give exactly one of cron (an expression) or every (an interval)")
  }, 60_000)

  it("a rate limit per key: --rate-key, the waiting task pending, and stats saying when the next may start", async () => {
    const submit = async (key: string) =>
      (json((await cli(server.url, ["submit", "quota", `{"n": 1}`, "--rate-key", key, "--json"])).stdout) as { id: string }).id
    const first = await submit("acct-1")
    const second = await submit("acct-1")
    const other = await submit("acct-2")
    const status = (id: string) => rpc(server.url, "get", { id }).then((r) => (r.result as { status: string }).status)
    await eventually(async () => [await status(first), await status(other)], (s) => s.every((x) => x === "completed"))
    expect(await status(second)).toBe("pending")
    const stats = await cli(server.url, ["stats"])
    expect(stats.stdout).toMatch(/RATE LIMIT\s+LIMIT\s+AVAILABLE\s+NEXT START/)
    expect(stats.stdout).toMatch(/quota\/acct-1\s+1 per 1h00m\s+0\s+in (59m\d+s|1h00m)/)
    expect(stats.stdout).toMatch(/quota\/acct-2\s+1 per 1h00m\s+0/)
    expect((await cli(server.url, ["cancel", second])).code).toBe(0)
    const bad = await cli(server.url, ["submit", "quota", `{"n": 1}`, "--rate-key", ""])
    expect(bad.stderr).toContain("rateKey must be 1 to 256 characters")
  }, 60_000)

  it("list: newest first by default, --oldest the other way, --active only unfinished tasks", async () => {
    const ids: Array<string> = []
    for (const n of [1, 2, 3]) ids.push((json((await cli(server.url, ["submit", "echo", `{"n": ${n}}`, "--json"])).stdout) as { id: string }).id)
    await eventually(() => rpc(server.url, "get", { id: ids[2] }), (r) => (r.result as { status: string }).status === "completed")
    const listed = async (args: ReadonlyArray<string>) =>
      (json((await cli(server.url, ["list", "--type", "echo", "--json", ...args])).stdout) as Array<{ id: string }>).map((t) => t.id)
    const newest = await listed(["--limit", "3"])
    expect(newest).toStrictEqual([...ids].reverse())
    expect((await listed(["--oldest", "--limit", "1000"])).slice(-3)).toStrictEqual(ids)
    expect(await listed(["--active"])).toStrictEqual([])
    const page = await cli(server.url, ["list", "--type", "echo", "--limit", "2"])
    expect(page.stdout).toMatch(/… more: --before \d+/)
    const both = await cli(server.url, ["list", "--active", "--status", "pending"])
    expect([both.code, both.stderr.trim()]).toStrictEqual([2, "troupe: give --active or --status, not both"])
  }, 60_000)

  it("pause and resume say when nothing changed", async () => {
    expect((await cli(server.url, ["resume", "--queue"])).stdout.trim()).toBe("the queue was not paused: nothing changed")
    expect((await cli(server.url, ["pause", "--type", "talk"])).stdout.trim()).toBe("paused type talk")
    expect((await cli(server.url, ["pause", "--type", "talk"])).stdout.trim()).toBe("type talk was already paused: nothing changed")
    expect((await cli(server.url, ["resume", "--type", "talk"])).stdout.trim()).toBe("resumed type talk")
    expect((await cli(server.url, ["resume", "--type", "talk"])).stdout.trim()).toBe("type talk was not paused: nothing changed")
  }, 60_000)

  it("pause and resume a task type", async () => {
    expect((await cli(server.url, ["pause", "--type", "echo"])).code).toBe(0)
    const { id } = json((await cli(server.url, ["submit", "echo", `{"n": 1}`, "--json"])).stdout) as { id: string }
    const stats = await rpc(server.url, "stats")
    expect((stats.result as { paused: { types: Array<string> } }).paused.types).toContain("echo")
    expect(((await rpc(server.url, "get", { id })).result as { status: string }).status).toBe("pending")
    // Where an operator looks: the task's row and a note in list, its status, the stats.
    const list = (await cli(server.url, ["list", "--type", "echo", "--active"])).stdout
    expect(list).toMatch(new RegExp(`${id}\\s+echo\\s+pending \\(type paused\\)`))
    expect(list).toContain("paused: type echo (troupe resume --type echo)")
    expect((await cli(server.url, ["status", id])).stdout).toMatch(/status +pending, held: its type is paused \(troupe resume --type echo\)/)
    const human = (await cli(server.url, ["stats"])).stdout
    expect(human).toMatch(/^paused +type echo \(troupe resume --type echo\)/m)
    expect(human.split("\n").filter((l) => /^running\b/.test(l))).toEqual([])
    expect((await cli(server.url, ["resume", "--type", "echo"])).code).toBe(0)
    await eventually(() => rpc(server.url, "get", { id }), (r) => (r.result as { status: string }).status === "completed")
  }, 120_000)
})

describe("troupe start --allow-commands with two handlers modules", () => {
  it("runs programs from `submit --command` and the types of both modules", async () => {
    const commands = await startServer([
      "--handlers", operateHandlers, "--handlers", recoveryHandlers, "--allow-commands",
      "--database", path.join(dir, "commands.db"), "--num-workers", "1"
    ])
    try {
      expect(commands.output()).toContain("commands on")
      const ok = await cli(commands.url, ["submit", "--command", `sh -c "echo 'first line'; echo second >&2"`, "--wait", "--json"])
      expect(ok.code).toBe(0)
      const done = json(ok.stdout.slice(ok.stdout.indexOf("{\n"))) as { id: string; status: string; result: unknown }
      expect(done).toMatchObject({ status: "completed", result: { exitCode: 0 } })
      // --wait prints the program's output, including lines written before it subscribed.
      expect(ok.stdout).toContain("info  first line")
      const logs = (await cli(commands.url, ["logs", done.id, "--json"])).stdout.trim().split("\n").map((l) => json(l) as { level: string; message: string })
      // stdout and stderr are read side by side: each keeps its order, not their interleaving.
      expect(logs.map((l) => [l.level, l.message]).sort()).toEqual([["info", "first line"], ["warn", "second"]])

      const three = await cli(commands.url, ["submit", "--command", "sh -c 'exit 3'", "--wait"])
      expect(three.code).toBe(10)
      expect(three.stdout + three.stderr).toContain("exited with code 3")

      const log = path.join(dir, "steps.log")
      const step = await cli(commands.url, ["submit", "step", JSON.stringify({ n: 4, log }), "--wait", "--json"])
      expect(step.code).toBe(0)
      const echo = await cli(commands.url, ["submit", "echo", `{"n": 2}`, "--wait"])
      expect(echo.code).toBe(0)
    } finally {
      commands.process.kill("SIGTERM")
      await commands.exited
    }
  }, 120_000)
})

describe("troupe start refuses", () => {
  it("two handlers modules that define the same task type", async () => {
    const message = await refused(["--handlers", operateHandlers, "--handlers", threadHandlers, "--database", path.join(dir, "twice.db")])
    expect(message).toContain(`task type "echo" is defined twice`)
    expect(message).toContain("exited (6)")
  }, 60_000)

  it("a handlers module that loads on the main thread but throws in a worker thread: one message with the thread's own error", async () => {
    const broken = fileURLToPath(new URL("../../dist/test/fixtures/threadBrokenHandlers.js", import.meta.url))
    const message = await refused(["--handlers", broken, "--database", path.join(dir, "broken.db")])
    expect(message).toContain("exited (6)")
    expect(message).toContain(`cannot load handlers module ${broken}: Error: Module did not self-register`)
    // Said once: no respawn loop of stack traces.
    expect(message.split("did not self-register").length).toBe(2)
  }, 60_000)

  it("to bind beyond loopback without a token", async () => {
    const message = await refused(["--handlers", operateHandlers, "--database", path.join(dir, "open.db"), "--host", "0.0.0.0"])
    expect(message).toContain("without a token")
    expect(message).toContain("exited (6)")
  }, 60_000)

  // Reported: `--token ""` (or TROUPE_TOKEN= from an unset variable) served everyone with no
  // Authorization header. An empty token is no token.
  const blanks = [[["--token", ""], {}, "--token"], [[], { TROUPE_TOKEN: "  " }, "TROUPE_TOKEN"]] as const
  for (const [flags, env, source] of blanks) {
    it(`to bind beyond loopback with an empty token (${source})`, async () => {
      const message = await refused(["--handlers", operateHandlers, "--database", path.join(dir, `blank-${source}.db`), "--host", "0.0.0.0", ...flags], env)
      expect(message).toContain("exited (6)")
      expect(message).toContain(`refusing to serve on 0.0.0.0 without a token (${source} is empty, and an empty token is no token)`)
    }, 60_000)
  }

  it("a port in use, naming the port and the way out", async () => {
    const port = new URL(server.url).port
    const message = await refused(["--handlers", operateHandlers, "--database", path.join(dir, "second.db")], {}, Number(port))
    expect(message).toContain("exited (6)")
    expect(message).toContain(`port ${port} on 127.0.0.1 is already in use (another troupe?): stop that process, or pick another port with --port`)
  }, 60_000)
})

describe("troupe start without handlers", () => {
  it("warns that nothing submitted will run here", () =>
    withServer(["--database", path.join(dir, "bare.db")], {}, async (bare) => {
      expect(bare.output().replace(/\s+/g, " ")).toContain("task types none: no handlers module (--handlers or TROUPE_HANDLERS), so tasks can be submitted but none runs here")
      // The worker count as resolved on this machine, not "auto".
      expect(bare.output()).toMatch(new RegExp(`\\n {2}workers +${os.availableParallelism()} \\(auto: one per core\\)\\n`))
      // Each line of the banner within 80 columns.
      expect(bare.output().split("\n").filter((l) => l.length > 80)).toEqual([])
    }), 60_000)
})

describe("troupe start with a token from the environment", () => {
  it("requires it from clients, and its banner says where it came from", () =>
    withServer(["--handlers", operateHandlers, "--database", path.join(dir, "token.db")], { TROUPE_TOKEN: "s3cret" }, async (guarded) => {
      expect(guarded.output().replace(/\s+/g, " ")).toContain("token required (from TROUPE_TOKEN)")
      const call = { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "health" }) }
      expect((await fetch(`${guarded.url}/rpc`, call)).status).toBe(401)
      expect((await fetch(`${guarded.url}/rpc`, { ...call, headers: { authorization: "Bearer " } })).status).toBe(401)
      expect((await fetch(`${guarded.url}/rpc`, { ...call, headers: { authorization: "Bearer s3cret" } })).status).toBe(200)
      const health = await cli(guarded.url, ["health", "--json"], { TROUPE_TOKEN: "s3cret" })
      expect(health.code).toBe(0)
    }), 60_000)

  it("an empty one on loopback is no token, and the banner says it was ignored", () =>
    withServer(["--handlers", operateHandlers, "--database", path.join(dir, "empty.db"), "--token", ""], {}, async (open) => {
      expect(open.output().replace(/\s+/g, " ")).toContain("token none (--token is empty, so ignored)")
    }), 60_000)
})
