import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Node from "../../../domain/Node.js"
import type { Env } from "../State.js"
import * as LeaseRecovery from "./LeaseRecovery.js"

// Maintenance: this node's heartbeat in the store's nodes table, and what follows from reading
// every node's. The leader (the longest-running live node: Node.leaderOf, the same answer on
// every node) declares dead the nodes that stopped heartbeating and recovers their running
// attempts at once, not when each lease expires; it alone runs the sweeps (expired leases,
// retention). Every node keeps the last rows it read, for stats.
//
// Silence is judged by what this node saw, on its own clock: a node is dead when its heartbeat
// has not changed for the node timeout while this node's own heartbeats all succeeded. Neither
// clock skew between hosts nor an outage of the database (after which every row looks old)
// makes a live node dead.

/** What this node knows of the others, written by the heartbeat fiber only. */
export interface Cluster {
  /** This node leads the maintenance duties. */
  readonly leader: Ref.Ref<boolean>
  /** Every node as last read. */
  readonly nodes: Ref.Ref<ReadonlyArray<Node.NodeRow>>
}

export const makeCluster = Effect.all({ leader: Ref.make(false), nodes: Ref.make<ReadonlyArray<Node.NodeRow>>([]) })

/** The node timeout (options.nodeTimeoutMs, 10 s by default). */
export const timeoutOf = (env: Env) => env.options.nodeTimeoutMs ?? 10_000

/** The heartbeat of this node: `beat` once (at start-up), then `run` for the scheduler's life. */
export const make = (env: Env, startedAt: number, report: Effect.Effect<Node.NodeInfo>) => {
  const { cluster, options, store } = env
  const timeout = timeoutOf(env)
  /** Each other node's last heartbeat seen, and when (this node's clock) it was first seen. */
  const observed = new Map<string, { readonly seenAt: number; readonly since: number }>()
  /** Since when every heartbeat of this node succeeded (undefined: the last one failed). */
  let healthySince: number | undefined
  let lastBeat: number | undefined

  const beat = Effect.gen(function*() {
    const before = yield* Clock.currentTimeMillis
    // Silent past the timeout ourselves (the database away, the process stalled): the others may
    // have declared this node dead and taken its attempts; the lease heartbeat finds out now.
    if (lastBeat !== undefined && before - lastBeat > timeout) yield* Queue.offer(env.state.leaseCheck, undefined)
    yield* store.beat(options.owner, startedAt, before, JSON.stringify(yield* report))
    const rows = yield* store.nodes
    const now = yield* Clock.currentTimeMillis
    lastBeat = now
    healthySince ??= now
    for (const row of rows) {
      const seen = observed.get(row.owner)
      if (seen === undefined || seen.seenAt !== row.seenAt) observed.set(row.owner, { seenAt: row.seenAt, since: now })
    }
    for (const owner of observed.keys()) if (!rows.some((row) => row.owner === owner)) observed.delete(owner)
    const alive = (row: Node.NodeRow) =>
      row.owner === options.owner || now - healthySince! <= timeout || now - (observed.get(row.owner)?.since ?? now) <= timeout
    yield* Ref.set(cluster.nodes, rows)
    const leads = Node.leaderOf(rows, alive) === options.owner
    yield* Ref.set(cluster.leader, leads)
    if (!leads) return
    const dead = rows.filter((row) => !alive(row))
    if (dead.length === 0) return
    const owners = dead.map((row) => row.owner)
    const leased = yield* store.leasesOf(owners)
    if (leased.length > 0) {
      yield* Effect.logWarning(
        `declared dead: ${dead.map((row) => `${row.owner} (its heartbeat unchanged for ${((now - observed.get(row.owner)!.since) / 1000).toFixed(1)} s)`).join(", ")}; ` +
          `recovering ${leased.length} running attempt(s)`
      )
      yield* LeaseRecovery.endLost(env, leased, "nodeDead")
    }
    const holding = new Set((yield* store.leasesOf(owners)).map((t) => t.owner))
    yield* store.removeNodes(owners.filter((owner) => !holding.has(owner)))
  }).pipe(
    // A failed heartbeat breaks this node's view: silence seen since then proves nothing.
    Effect.tapErrorCause(() => Effect.sync(() => (healthySince = undefined)))
  )

  const run = Effect.sleep(Duration.millis(timeout / 5)).pipe(
    Effect.zipRight(beat),
    Effect.catchAllCause((cause) => Effect.logError("node heartbeat failed", Cause.squash(cause))),
    Effect.forever
  )
  return { beat, run }
}
