import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as LeaseOwner from "../domain/LeaseOwner.js"

// The process side of lease owners: the name of this pid namespace, a process's start time, and
// whether a pid exists (signal 0). Linux gives all three through /proc; elsewhere (no pid
// namespaces) the hostname names the host and start times are unknown.

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return null
  }
}

const namespace = (): string => {
  const boot = read("/proc/sys/kernel/random/boot_id")?.trim().slice(0, 8)
  let pidNs: string | undefined
  try {
    pidNs = /\[(\d+)\]/.exec(fs.readlinkSync("/proc/self/ns/pid"))?.[1]
  } catch {
    pidNs = undefined
  }
  // Host networking gives containers the host's hostname but pid namespaces of their own:
  // the boot id and the namespace keep them apart.
  return boot !== undefined && pidNs !== undefined ? `${os.hostname()}/${boot}/${pidNs}` : os.hostname()
}

/** This process's pid namespace, as owners made here name it. */
export const host: string = namespace()

/** When a process started, in clock ticks since boot (/proc/<pid>/stat, field 22); null if unknown. */
const startOf = (pid: number): string | null => {
  const stat = read(`/proc/${pid}/stat`)
  if (stat === null) return null
  // The command name (field 2) is in parentheses and may hold anything: count after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const start = fields[19]
  return start !== undefined && /^[0-9]+$/.test(start) ? start : null
}

const probe = (pid: number): LeaseOwner.Probe => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    // EPERM: it exists, another user's. Only ESRCH says there is no such process.
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return { _tag: "Missing" }
  }
  return { _tag: "Running", start: startOf(pid) }
}

/** A new owner for a scheduler of this process. */
export const make = (): string =>
  LeaseOwner.format({ host, pid: process.pid, start: startOf(process.pid) ?? "", instance: crypto.randomUUID().slice(0, 8) })

/** Whether the owner is known to be gone (domain/LeaseOwner.isGone, in this pid namespace). */
export const isGone = (owner: string): boolean => LeaseOwner.isGone(owner, { host, probe })
