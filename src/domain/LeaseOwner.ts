import * as Option from "effect/Option"

// Who holds a lease: `host:pid:instance`, one per scheduler. A lease whose owner is known to be
// gone — a process on this host that no longer exists — cannot be heartbeating, so its tasks
// are recovered at once instead of when the lease expires. docs/design.md: "Orphaned leases".

export interface LeaseOwner {
  readonly host: string
  readonly pid: number
  readonly instance: string
}

export const format = (owner: LeaseOwner): string => `${owner.host}:${owner.pid}:${owner.instance}`

/** The parts of an owner string; none for anything not in troupe's own format. */
export const parse = (owner: string): Option.Option<LeaseOwner> => {
  const last = owner.lastIndexOf(":")
  const middle = owner.lastIndexOf(":", last - 1)
  if (middle <= 0 || last === owner.length - 1) return Option.none()
  const digits = owner.slice(middle + 1, last)
  if (!/^[1-9][0-9]{0,9}$/.test(digits)) return Option.none()
  return Option.some({ host: owner.slice(0, middle), pid: Number(digits), instance: owner.slice(last + 1) })
}

/** What this process can tell about the processes on its host. */
export interface Host {
  readonly hostname: string
  /** This process's pid. */
  readonly pid: number
  /** The owners of the schedulers running in this process now. */
  readonly running: ReadonlySet<string>
  /** Whether a process with this pid exists on this host. */
  readonly exists: (pid: number) => boolean
}

/**
 * Whether `owner` is known to be gone. Only an owner on this host can be judged: its pid no
 * longer exists, or it is this process's pid and no scheduler here has that owner (an earlier
 * process with the same pid, as pid 1 in a restarted container). Anything else — another host,
 * a pid that exists (perhaps reused), a string not in troupe's format — is not known to be gone.
 */
export const isGone = (owner: string, host: Host): boolean =>
  Option.match(parse(owner), {
    onNone: () => false,
    onSome: (parsed) =>
      parsed.host === host.hostname &&
      (parsed.pid === host.pid ? !host.running.has(owner) : !host.exists(parsed.pid))
  })
