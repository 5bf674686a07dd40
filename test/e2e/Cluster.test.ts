import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Pg from "pg"
import { adminUrl, freshDatabase } from "../support/postgres.js"
import { privatePostgres } from "../support/privatePostgres.js"
import type { Server } from "../support/process.js"
import { eventually, rpc, startServer } from "../support/process.js"

// Several `troupe start` nodes on one PostgreSQL database, as an operator runs them: real
// processes, real threads, a real server. The handlers (fixtures/clusterHandlers.ts) record
// every attempt's start and end from inside, so overlaps are checked on what actually ran.
// Leases last an hour in these runs: nothing here may rely on a lease running out.

const handlers = fileURLToPath(new URL("../../dist/test/fixtures/clusterHandlers.js", import.meta.url))

interface Cluster {
  readonly url: string
  readonly database: string
  readonly log: string
  readonly nodes: Array<Server>
  readonly sql: Pg.Client
}

interface ClusterOptions {
  /** A server of the test's own (its database's URL) instead of a new database on the shared one. */
  readonly server?: string
  readonly env?: Record<string, string>
  /**
   * The last node runs in a PID namespace of its own: to the others it is on another host, so a
   * process of it that dies cannot be seen gone by its PID; only its missing heartbeats tell.
   */
  readonly lastOnAnotherHost?: boolean
}

/** Runs `body` with `n` nodes (each with 2 threads), all stopped and their database dropped after. */
const withCluster = async (n: number, body: (cluster: Cluster) => Promise<void>, options: ClusterOptions = {}) => {
  const scope = Effect.runSync(Scope.make())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-cluster-"))
  const nodes: Array<Server> = []
  const sql = new Pg.Client({ connectionString: adminUrl })
  // `--kill-child`: a kill -9 of unshare reaches the node in the namespace.
  const anotherHost = (i: number) => (options.lastOnAnotherHost === true && i === n - 1 ? ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] : [])
  await sql.connect()
  try {
    const url = options.server ?? Redacted.value(await Effect.runPromise(Scope.extend(freshDatabase, scope)))
    const args = ["--handlers", handlers, "--database", url, "--num-workers", "2"]
    const env = { TROUPE_LEASE_DURATION: "1 hour", ...options.env }
    // One first (it migrates), then the others together.
    nodes.push(await startServer(args, env, 0, anotherHost(0)))
    nodes.push(...await Promise.all(Array.from({ length: n - 1 }, (_, i) => startServer(args, env, 0, anotherHost(i + 1)))))
    await body({ url, database: url.slice(url.lastIndexOf("/") + 1), log: path.join(dir, "runs.log"), nodes, sql })
  } finally {
    // CLUSTER_DEBUG=1: what the nodes warned about.
    if (process.env["CLUSTER_DEBUG"] !== undefined) for (const node of nodes) console.log(node.output().split("\n").filter((l) => /WARN|ERROR|recovered|declared/.test(l)).slice(0, 30).join("\n"))
    // A node under unshare is stopped with SIGKILL: unshare does not pass SIGTERM on (and
    // --kill-child takes the node with it).
    for (const [i, node] of nodes.entries()) node.process.kill(anotherHost(i).length > 0 ? "SIGKILL" : "SIGTERM")
    await Promise.all(nodes.map((node) => node.exited))
    await sql.end()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

interface Attempt {
  readonly id: string
  readonly type: string
  readonly attempt: number
  readonly pid: number
  readonly start: number
  /** When it ended (`end`), was stopped (`stop`), or died with its process (the kill). */
  end: number
  how: "end" | "stop" | "died"
}

/** Every attempt the handlers recorded; one that never ended died with its process at `killedAt`. */
const attemptsIn = (log: string, killedAt = Number.POSITIVE_INFINITY): Array<Attempt> => {
  const byKey = new Map<string, Attempt>()
  // The nodes append while this reads: a last line without its newline is still being written.
  const text = fs.readFileSync(log, "utf8")
  for (const line of text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) => l.length > 0)) {
    const [what, id, type, attempt, pid, at] = line.split(" ")
    const key = `${id} ${attempt} ${pid}`
    if (what === "start") byKey.set(key, { id: id!, type: type!, attempt: Number(attempt), pid: Number(pid), start: Number(at), end: killedAt, how: "died" })
    else {
      const a = byKey.get(key)
      if (a === undefined) throw new Error(`the log has "${line}" without its start`)
      a.end = Number(at)
      a.how = what as "end" | "stop"
    }
  }
  return [...byKey.values()]
}

const overlap = (a: Attempt, b: Attempt) => a.start < b.end && b.start < a.end

/** Pairs of attempts in the same group that overlap in time. */
const overlapsWithin = (attempts: ReadonlyArray<Attempt>, group: (a: Attempt) => string | null) => {
  const groups = new Map<string, Array<Attempt>>()
  for (const a of attempts) {
    const g = group(a)
    if (g !== null) groups.set(g, [...(groups.get(g) ?? []), a])
  }
  const found: Array<[Attempt, Attempt]> = []
  for (const list of groups.values()) {
    for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) if (overlap(list[i]!, list[j]!)) found.push([list[i]!, list[j]!])
  }
  return found
}

/** Most attempts running at one instant (an end at t comes before a start at t). */
const mostAtOnce = (attempts: ReadonlyArray<Attempt>) => {
  const edges = attempts.flatMap((a) => [[a.start, 1], [a.end, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1])
  let now = 0
  let most = 0
  for (const [, d] of edges) most = Math.max(most, now += d)
  return most
}

const submitMany = async (url: string, tasks: ReadonlyArray<unknown>) => {
  const answer = await rpc(url, "submitMany", { tasks })
  if (answer.error !== undefined) throw new Error(answer.error.message)
  return (answer.result as { readonly ids: ReadonlyArray<string> }).ids
}

const runningOn = async (database: string, server = adminUrl) => {
  const db = new Pg.Client({ connectionString: server.replace(/\/[^/]*$/, `/${database}`) })
  await db.connect()
  try {
    const rows = await db.query<{ id: string; owner: string }>("SELECT id, lease_owner AS owner FROM tasks WHERE status = 'running'")
    return rows.rows.map((r) => ({ id: r.id, pid: Number(r.owner.split(":")[1]) }))
  } finally {
    await db.end()
  }
}

/**
 * Submits to `url` during an outage until it shows (three refused), ends it with `restore`, then
 * until a submit is acknowledged again: the ids acknowledged, and how many were refused.
 */
const submitThroughOutage = async (url: string, log: string, restore: () => unknown) => {
  const acknowledged: Array<string> = []
  let refused = 0
  await eventually(async () => {
    const answer = await rpc(url, "submit", { type: "span", payload: { n: -1, ms: 5, log } })
    if (answer.error === undefined) acknowledged.push((answer.result as { readonly id: string }).id)
    else refused++
    return refused
  }, (n) => n > 2, 1000)
  await restore()
  const after = await eventually(async () => (await rpc(url, "submit", { type: "span", payload: { n: -2, ms: 5, log } })), (x) => x.error === undefined, 1000)
  acknowledged.push((after.result as { readonly id: string }).id)
  return { acknowledged, refused }
}

/** The nodes listen: a cancel sent to one stops an attempt running on another (leases of an hour: only the notification can do it). */
const cancelAcrossNodes = async (cluster: Cluster) => {
  const { database, log, nodes, url } = cluster
  const [long] = await submitMany(nodes[0]!.url, [{ type: "span", payload: { n: 0, ms: 600_000, log }, options: { id: "long" } }])
  const [running] = await eventually(() => runningOn(database, url), (rows) => rows.length === 1, 3000)
  const other = nodes.find((node) => node.process.pid !== running!.pid)!
  await eventually(() => Promise.resolve(attemptsIn(log).some((x) => x.id === "long")), (started) => started, 3000)
  expect((await rpc(other.url, "cancel", { id: long })).error).toBeUndefined()
  await eventually(() => Promise.resolve(attemptsIn(log).find((x) => x.id === "long")?.how), (how) => how === "stop", 3000)
}

const counts = async (url: string) => (await rpc(url, "counts")).result as Record<string, number> | undefined

describe("nodes on one PostgreSQL database", () => {
  it("three nodes under load, one killed with -9: every task completes, no attempts of a task, of a key, or past a type's limit overlap", () =>
    withCluster(3, async ({ log, nodes }) => {
      const [a, b, c] = nodes as [Server, Server, Server]
      const task = (type: string, id: string, ms: number) => ({ type, payload: { n: 0, ms, log }, options: { id } })
      // Unkeyed work, a type limited to 2 at once, and five actor keys (the key is the id's prefix).
      const tasks = [
        ...Array.from({ length: 150 }, (_, i) => task("span", `free-${i}`, 10)),
        ...Array.from({ length: 60 }, (_, i) => task("limited", `limited-${i}`, 15)),
        ...Array.from({ length: 100 }, (_, i) => ({ ...task("span", `key${i % 5}-${i}`, 10), options: { id: `key${i % 5}-${i}`, key: `key${i % 5}` } }))
      ]
      await submitMany(a.url, tasks)
      // Kill a node while a handler of it runs.
      const victim = c.process.pid!
      await eventually(() => Promise.resolve(fs.existsSync(log) ? attemptsIn(log) : []), (xs) => xs.some((x) => x.pid === victim && x.how === "died"), 3000)
      const killedAt = Date.now()
      c.process.kill("SIGKILL")
      await c.exited
      const done = await eventually(() => counts(a.url), (n) => n?.["completed"] === tasks.length, 6000)
      const finishedAt = Date.now()
      expect(done).toMatchObject({ completed: tasks.length, failed: 0, running: 0, pending: 0 })

      const attempts = attemptsIn(log, killedAt)
      const survivors = attempts.filter((x) => x.pid !== victim)
      // Every task completed, each once on the surviving nodes (an attempt of the killed node may
      // have ended in its handler without its outcome being stored: it ran again elsewhere).
      const ends = new Map<string, number>()
      for (const x of survivors) if (x.how === "end") ends.set(x.id, (ends.get(x.id) ?? 0) + 1)
      expect(ends.size + attempts.filter((x) => x.pid === victim && x.how === "end" && !ends.has(x.id)).length).toBe(tasks.length)
      expect([...ends.values()].every((k) => k === 1)).toBe(true)
      // No two attempts of a task overlapped, nor two of one key; the limit held across nodes.
      expect(overlapsWithin(attempts, (x) => x.id)).toStrictEqual([])
      expect(overlapsWithin(attempts, (x) => (x.id.startsWith("key") ? x.id.split("-")[0]! : null))).toStrictEqual([])
      expect(mostAtOnce(attempts.filter((x) => x.type === "limited"))).toBeLessThanOrEqual(2)
      // Each key's tasks ran in submission order.
      for (let k = 0; k < 5; k++) {
        const order = survivors.filter((x) => x.id.startsWith(`key${k}-`) && x.how === "end").sort((x, y) => x.start - y.start)
        const ns = order.map((x) => Number(x.id.split("-")[1]))
        expect(ns).toStrictEqual([...ns].sort((x, y) => x - y))
      }
      const died = attempts.filter((x) => x.how === "died")
      const byNode = [a, b, c].map((node) => attempts.filter((x) => x.pid === node.process.pid).length)
      const recovered = `${a.output()}${b.output()}`.includes("left running by a process that is gone")
      expect(recovered || died.length === 0).toBe(true)
      console.log(
        `three nodes: ${tasks.length} tasks, attempts by node ${byNode.join(" / ")}, ${died.length} died with the killed node; ` +
          `all done ${finishedAt - killedAt} ms after the kill; most limited at once ${mostAtOnce(attempts.filter((x) => x.type === "limited"))}`
      )
    }), 120_000)

  it("a node on another host killed with -9: declared dead when its heartbeats stop, its attempts recovered (counted, reason nodeDead) and finished on the others", () =>
    withCluster(3, async ({ database, log, nodes }) => {
      const [a, b, c] = nodes as [Server, Server, Server]
      const ids = await submitMany(a.url, Array.from({ length: 60 }, (_, i) => ({ type: "span", payload: { n: i, ms: 300, log } })))
      // The victim running attempts (in its own namespace its PID is 1), as the store and its handlers have them.
      const victimRuns = () => Promise.all([runningOn(database), Promise.resolve(fs.existsSync(log) ? attemptsIn(log) : [])])
      await eventually(victimRuns, ([rows, xs]) => rows.some((r) => r.pid === 1 && xs.some((x) => x.id === r.id && x.pid === 1 && x.how === "died")), 3000)
      const killedAt = Date.now()
      c.process.kill("SIGKILL")
      await c.exited
      // Leases last an hour: only the missing heartbeats can free its attempts.
      const done = await eventually(() => counts(a.url), (n) => n?.["completed"] === ids.length, 3000)
      const finishedAt = Date.now()
      expect(done).toMatchObject({ completed: ids.length, failed: 0, running: 0, pending: 0 })
      expect(`${a.output()}${b.output()}`).toContain("left running by a node declared dead")
      // One of its attempts that never ended: recovered through the retry decision, counted, typed.
      const attempts = attemptsIn(log, killedAt)
      const lost = attempts.find((x) => x.pid === 1 && x.how === "died")!
      const task = (await rpc(a.url, "get", { id: lost.id })).result as { readonly attempt: number; readonly errors: ReadonlyArray<{ readonly error: { readonly _tag: string; readonly reason?: string } }> }
      expect(task.attempt).toBe(2)
      expect(task.errors.map((e) => [e.error._tag, e.error.reason])).toStrictEqual([["AttemptLost", "nodeDead"]])
      expect(overlapsWithin(attempts, (x) => x.id)).toStrictEqual([])
      console.log(`node on another host killed: ${attempts.filter((x) => x.how === "died").length} attempt(s) died with it; all done ${finishedAt - killedAt} ms after the kill (node timeout 2 s)`)
    }, { env: { TROUPE_NODE_TIMEOUT: "2 seconds" }, lastOnAnotherHost: true }), 60_000)

  it("a cancel sent to one node stops the attempt running on another at once, not at its lease heartbeat", () =>
    withCluster(2, async ({ database, log, nodes }) => {
      const [id] = await submitMany(nodes[0]!.url, [{ type: "span", payload: { n: 0, ms: 600_000, log }, options: { id: "long" } }])
      const [running] = await eventually(() => runningOn(database), (rows) => rows.length === 1, 3000)
      // Sent to the node that does not run it.
      const other = nodes.find((node) => node.process.pid !== running!.pid)!
      const runner = nodes.find((node) => node.process.pid === running!.pid)!
      await eventually(() => Promise.resolve(fs.existsSync(log) && attemptsIn(log).length === 1), (started) => started, 3000)
      const sentAt = Date.now()
      expect((await rpc(other.url, "cancel", { id })).error).toBeUndefined()
      const [stopped] = await eventually(() => Promise.resolve(attemptsIn(log)), (xs) => xs[0]?.how === "stop", 3000)
      expect([stopped!.pid, stopped!.id]).toStrictEqual([runner.process.pid, "long"])
      expect((await rpc(runner.url, "get", { id })).result).toMatchObject({ status: "cancelled" })
      console.log(`cancel across nodes: the attempt stopped ${stopped!.end - sentAt} ms after the cancel was sent`)
    }), 60_000)

  it("the database goes away mid-run (connections cut and refused): nodes reconnect, and every acknowledged task completes", () =>
    withCluster(2, async (cluster) => {
      const { database, log, nodes, sql } = cluster
      const [a, b] = nodes as [Server, Server]
      const first = await submitMany(a.url, Array.from({ length: 200 }, (_, i) => ({ type: "span", payload: { n: i, ms: 5, log } })))
      await eventually(() => counts(a.url), (n) => (n?.["completed"] ?? 0) > 20, 3000)
      // What nodes see of a restart: every connection cut, new ones refused. (The server itself is
      // shared with the other test files, so it is not restarted.)
      await sql.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`)
      await sql.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [database])
      // Submits during the outage fail with an error the caller sees, or are acknowledged only
      // once durable. After: both nodes serve again, and everything acknowledged runs to completion.
      const { acknowledged, refused } = await submitThroughOutage(b.url, log, () => sql.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`))
      const all = [...first, ...acknowledged]
      await eventually(() => counts(a.url), (n) => n?.["completed"] === all.length, 6000)
      for (const id of acknowledged) expect((await rpc(a.url, "get", { id })).result).toMatchObject({ status: "completed" })
      // The nodes listen again.
      await cancelAcrossNodes(cluster)
      console.log(`database outage: ${refused} submit(s) refused during it, ${all.length} acknowledged tasks all completed`)
    }), 90_000)
  it("the PostgreSQL server crashes and restarts mid-run: nodes reconnect, every acknowledged task completes once, and listening resumes", async () => {
    // A server of the test's own: the shared one cannot be stopped under the other test files.
    const server = await privatePostgres()
    try {
      await withCluster(2, async (cluster) => {
        const { log, nodes } = cluster
        const [a, b] = nodes as [Server, Server]
        const first = await submitMany(a.url, Array.from({ length: 300 }, (_, i) => ({ type: "span", payload: { n: i, ms: 10, log } })))
        await eventually(() => counts(a.url), (n) => (n?.["completed"] ?? 0) > 30, 5000)
        // A crash (no checkpoint, recovery from the WAL at the next start), with attempts running.
        server.stop("immediate")
        const { acknowledged, refused } = await submitThroughOutage(b.url, log, () => server.start())
        const all = [...first, ...acknowledged]
        const done = await eventually(() => counts(a.url), (n) => n?.["completed"] === all.length, 15_000)
        expect(done).toMatchObject({ completed: all.length, failed: 0, running: 0, pending: 0 })
        // Each ran to its end once, and no two attempts of a task overlapped.
        const attempts = attemptsIn(log)
        const ends = new Map<string, number>()
        for (const x of attempts) if (x.how === "end") ends.set(x.id, (ends.get(x.id) ?? 0) + 1)
        expect(overlapsWithin(attempts, (x) => x.id)).toStrictEqual([])
        expect([...ends.values()].filter((k) => k !== 1)).toStrictEqual([])
        // Listening resumed.
        await cancelAcrossNodes(cluster)
        console.log(`server crash: ${refused} submit(s) refused while it was down, ${all.length} acknowledged tasks all completed once`)
      }, { server: server.url })
    } finally {
      server.remove()
    }
  }, 120_000)
})
