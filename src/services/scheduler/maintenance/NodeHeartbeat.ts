import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Node from "../../../domain/Node.js"
import type { Env } from "../State.js"
import * as LeaseRecovery from "./LeaseRecovery.js"

// Maintenance: this node's heartbeat in the store's nodes table, and what follows from reading
// every node's. The leader (the longest-running live node: Node.leaderOf, the same answer on
// every node) declares dead the nodes that stopped heartbeating and recovers their running
// attempts at once, not when each lease expires; it alone runs the sweeps (expired leases,
// retention). Every node keeps the last rows it read, for stats.

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

/**
 * One heartbeat: writes this node's, reads every node's, and — when this node leads — ends the
 * running attempts of dead nodes through the retry decision (reason `nodeDead`), then forgets
 * the dead nodes that hold none.
 */
export const beat = (env: Env, startedAt: number, report: Effect.Effect<Node.NodeInfo>) =>
  Effect.gen(function*() {
    const { cluster, options, store } = env
    const timeout = timeoutOf(env)
    yield* store.beat(options.owner, startedAt, yield* Clock.currentTimeMillis, JSON.stringify(yield* report))
    const rows = yield* store.nodes
    const now = yield* Clock.currentTimeMillis
    yield* Ref.set(cluster.nodes, rows)
    const leads = Node.leaderOf(rows, now, timeout) === options.owner
    yield* Ref.set(cluster.leader, leads)
    if (!leads) return
    const dead = rows.filter((row) => row.owner !== options.owner && !Node.isAlive(row, now, timeout))
    if (dead.length === 0) return
    const owners = dead.map((row) => row.owner)
    const leased = yield* store.leasesOf(owners)
    if (leased.length > 0) {
      yield* Effect.logWarning(
        `declared dead: ${dead.map((row) => `${row.owner} (last heartbeat ${((now - row.seenAt) / 1000).toFixed(1)} s ago)`).join(", ")}; ` +
          `recovering ${leased.length} running attempt(s)`
      )
      yield* LeaseRecovery.endLost(env, leased, "nodeDead")
    }
    const holding = new Set((yield* store.leasesOf(owners)).map((t) => t.owner))
    yield* store.removeNodes(owners.filter((owner) => !holding.has(owner)))
  })

/** Heartbeats five times per node timeout, for the life of the scheduler. */
export const run = (env: Env, startedAt: number, report: Effect.Effect<Node.NodeInfo>) =>
  Effect.sleep(Duration.millis(timeoutOf(env) / 5)).pipe(
    Effect.zipRight(beat(env, startedAt, report)),
    Effect.catchAllCause((cause) => Effect.logError("node heartbeat failed", Cause.squash(cause))),
    Effect.forever
  )
