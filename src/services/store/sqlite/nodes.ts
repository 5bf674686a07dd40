import * as Effect from "effect/Effect"
import type { NodeRow } from "../../../domain/Node.js"
import { chunks, run, tuple } from "./sql.js"

// The nodes table: each node's heartbeat (the first one registers it), read by every node to
// see who is alive and who leads, and the rows of nodes that stopped or were declared dead.

export const beat = (owner: string, startedAt: number, now: number, info: string) =>
  Effect.asVoid(run(
    `INSERT INTO nodes (owner, started_at, seen_at, info) VALUES (?, ?, ?, ?)
     ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at, info = excluded.info`,
    [owner, startedAt, now, info]
  ))

export const list = Effect.map(
  run<{ readonly owner: string; readonly started_at: number; readonly seen_at: number; readonly info: string }>(
    "SELECT owner, started_at, seen_at, info FROM nodes ORDER BY started_at, owner"
  ),
  (rows) => rows.map((r): NodeRow => ({ owner: r.owner, startedAt: r.started_at, seenAt: r.seen_at, info: r.info }))
)

export const remove = (owners: ReadonlyArray<string>) =>
  Effect.forEach(chunks(owners), (chunk) => run(`DELETE FROM nodes WHERE owner IN ${tuple(chunk.length)}`, chunk), { discard: true })
