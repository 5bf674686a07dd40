/**
 * The store on PostgreSQL next to SQLite, one node, in the same run: 20,000 durable no-op tasks
 * (in-process fibers, and 2 worker threads), submitted with submitMany and drained, on a new
 * SQLite file and on a new PostgreSQL database (127.0.0.1:5432, TROUPE_BENCH_PG to point
 * elsewhere), alternately, median of 3. Prints figures and the machine; asserts nothing.
 */
import * as crypto from "node:crypto"
import { pathToFileURL } from "node:url"
import * as Pg from "pg"
import { throughputOf } from "./e2e.js"
import { describeMachine, median } from "./machine.js"

const TASKS = 20_000
const admin = process.env["TROUPE_BENCH_PG"] ?? "postgres://root@127.0.0.1:5432/test"

/** Runs `body` on a new database, dropped afterwards. */
const onFreshDatabase = async <A>(body: (url: string) => Promise<A>): Promise<A> => {
  const name = `troupe_bench_${crypto.randomBytes(4).toString("hex")}`
  const client = new Pg.Client({ connectionString: admin })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
    try {
      return await body(admin.replace(/\/[^/]*$/, `/${name}`))
    } finally {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  } finally {
    await client.end()
  }
}

export const run = async () => {
  console.log(`\n## The store on PostgreSQL vs SQLite, one node (${TASKS.toLocaleString()} durable no-op tasks, submitMany then drain)`)
  console.log(describeMachine())
  for (const execution of ["fibers", "threads"] as const) {
    const sqlite: Array<number> = []
    const postgres: Array<number> = []
    for (let round = 0; round < 3; round++) {
      sqlite.push(await throughputOf(execution, TASKS))
      postgres.push(await onFreshDatabase((url) => throughputOf(execution, TASKS, url)))
    }
    const [s, p] = [median(sqlite), median(postgres)]
    console.log(`${execution.padEnd(8)} SQLite ${s.toFixed(0).padStart(7)} tasks/s · PostgreSQL ${p.toFixed(0).padStart(7)} tasks/s (${(p / s).toFixed(2)}×; runs ${sqlite.map((x) => x.toFixed(0)).join(", ")} / ${postgres.map((x) => x.toFixed(0)).join(", ")})`)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run()
