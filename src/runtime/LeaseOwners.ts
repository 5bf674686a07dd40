import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as crypto from "node:crypto"
import * as os from "node:os"
import * as LeaseOwner from "../domain/LeaseOwner.js"

// The process side of lease owners: a fresh owner per scheduler, the set of owners running in
// this process, and whether a process still exists (signal 0).

// One set per process, even where two copies of this module are loaded.
const key = Symbol.for("troupe/runningLeaseOwners")
const running: Set<string> = ((globalThis as { [key]?: Set<string> })[key] ??= new Set<string>())

/** A new owner for a scheduler of this process. */
export const make = (): string =>
  LeaseOwner.format({ host: os.hostname(), pid: process.pid, instance: crypto.randomUUID().slice(0, 8) })

/** Whether a process with this pid exists (one of another user's counts: EPERM). */
const exists = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Whether the owner is known to be gone (domain/LeaseOwner.isGone, on this host). */
export const isGone = (owner: string): boolean =>
  LeaseOwner.isGone(owner, { hostname: os.hostname(), pid: process.pid, running, exists })

/** Marks the owner as running in this process while the layer lives. */
export const layerRunning = (owner: string): Layer.Layer<never> =>
  Layer.scopedDiscard(Effect.acquireRelease(
    Effect.sync(() => running.add(owner)),
    () => Effect.sync(() => running.delete(owner))
  ))
