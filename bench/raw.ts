import Database from "better-sqlite3"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"

// Baselines straight on better-sqlite3, for the same work troupe's store does per task:
// insert, claim (with a token), complete (checking the token).

const dirs: Array<string> = []
process.once("exit", () => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

/** A fresh database path in a temp directory that is removed when the process exits. */
export const tmpDb = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-bench-"))
  dirs.push(dir)
  return path.join(dir, "bench.db")
}

const open = () => {
  const db = new Database(tmpDb())
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT NOT NULL, payload TEXT, result TEXT, token TEXT)")
  db.exec("CREATE INDEX t_status ON t (status, id)")
  return db
}

/** The ceiling: everything batched in transactions of many rows. */
export const rawBatched = (count: number): number => {
  const db = open()
  const insert = db.prepare("INSERT INTO t (status, payload) VALUES ('pending', ?)")
  const claim = db.prepare("UPDATE t SET status = 'running', token = ? WHERE id IN (SELECT id FROM t WHERE status = 'pending' ORDER BY id LIMIT 64) RETURNING id")
  const complete = db.prepare("UPDATE t SET status = 'completed', result = '{}' WHERE id = ? AND token = ?")
  const start = performance.now()
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(JSON.stringify({ n: i }))
  })()
  for (;;) {
    const ids = db.transaction(() => claim.all("tok") as Array<{ id: number }>)()
    if (ids.length === 0) break
    db.transaction(() => ids.forEach(({ id }) => complete.run(id, "tok")))()
  }
  const rate = count / ((performance.now() - start) / 1000)
  db.close()
  return rate
}

/** One transaction per transition (autocommit): what a store without group commit gets. */
export const rawPerTransition = (count: number): number => {
  const db = open()
  const insert = db.prepare("INSERT INTO t (status, payload) VALUES ('pending', ?)")
  const claim = db.prepare("UPDATE t SET status = 'running', token = ? WHERE id = (SELECT id FROM t WHERE status = 'pending' ORDER BY id LIMIT 1) RETURNING id")
  const complete = db.prepare("UPDATE t SET status = 'completed', result = '{}' WHERE id = ? AND token = ?")
  const start = performance.now()
  for (let i = 0; i < count; i++) insert.run(JSON.stringify({ n: i }))
  for (;;) {
    const row = claim.get("tok") as { id: number } | undefined
    if (row === undefined) break
    complete.run(row.id, "tok")
  }
  const rate = count / ((performance.now() - start) / 1000)
  db.close()
  return rate
}

/**
 * µs per row of a status change (`pending` → `running`, by id, `rows` rows in one transaction)
 * on a copy of a troupe database file, with SQLite's temporary b-trees on the default pager
 * ("FILE") or in memory: the reason the store sets `PRAGMA temp_store = MEMORY`.
 */
export const statusChangeMicros = (file: string, tempStore: "FILE" | "MEMORY", rows = 2000): number => {
  const copy = tmpDb()
  fs.copyFileSync(file, copy)
  const db = new Database(copy)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.pragma(`temp_store = ${tempStore}`)
  const ids = (db.prepare("SELECT id FROM tasks WHERE status = 'pending' ORDER BY seq LIMIT ?").all(rows) as Array<{ id: string }>).map((r) => r.id)
  const update = db.prepare("UPDATE tasks SET status = 'running' WHERE id = ?")
  const start = performance.now()
  db.transaction(() => ids.forEach((id) => update.run(id)))()
  const micros = ((performance.now() - start) * 1000) / ids.length
  db.close()
  return micros
}
