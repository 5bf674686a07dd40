import * as Option from "effect/Option"

// Who holds a lease: `host:pid:start:instance`, one per scheduler. `host` names one pid
// namespace (on Linux: hostname, boot id and pid-namespace inode), `start` is when the process
// started (clock ticks since boot; empty where unknown). A lease whose owner is known to be gone
// cannot be heartbeating, so its tasks are recovered at once instead of when the lease expires.
// docs/design.md: "Orphaned leases".

export interface LeaseOwner {
  readonly host: string
  readonly pid: number
  readonly start: string
  readonly instance: string
}

export const format = (owner: LeaseOwner): string => `${owner.host}:${owner.pid}:${owner.start}:${owner.instance}`

const MAX_PID = 2 ** 31 - 1

/** The parts of an owner string; none for anything not in troupe's own format. */
export const parse = (owner: string): Option.Option<LeaseOwner> => {
  const parts = owner.split(":")
  if (parts.length < 4) return Option.none()
  const instance = parts.pop()!
  const start = parts.pop()!
  const pid = parts.pop()!
  const host = parts.join(":")
  if (host.length === 0 || instance.length === 0 || !/^[0-9]*$/.test(start)) return Option.none()
  if (!/^[1-9][0-9]{0,9}$/.test(pid) || Number(pid) > MAX_PID) return Option.none()
  return Option.some({ host, pid: Number(pid), start, instance })
}

/** What a look at a pid found: no such process, or one that started at `start` (null: unknown). */
export type Probe =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Running"; readonly start: string | null }

/** What this process can tell about the processes of its pid namespace. */
export interface Host {
  /** This pid namespace's name, as in owners made here. */
  readonly host: string
  readonly probe: (pid: number) => Probe
}

/**
 * Whether `owner` is known to be gone: it was made in this pid namespace, and its pid no longer
 * exists or now belongs to a process that started at another time (the pid was reused). Anything
 * else — another namespace or host, a live process, a start time that cannot be compared, a
 * string not in troupe's format — is not known to be gone, and its lease is waited out.
 */
export const isGone = (owner: string, host: Host): boolean =>
  Option.match(parse(owner), {
    onNone: () => false,
    onSome: (parsed) => {
      if (parsed.host !== host.host) return false
      const probe = host.probe(parsed.pid)
      if (probe._tag === "Missing") return true
      return parsed.start !== "" && probe.start !== null && probe.start !== parsed.start
    }
  })
