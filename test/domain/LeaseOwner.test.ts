import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as LeaseOwner from "../../src/domain/LeaseOwner.js"
import * as LeaseOwners from "../../src/runtime/LeaseOwners.js"

// Which lease owners are known to be gone: only processes of this pid namespace can be judged.

/** A namespace "box/ns1" where the listed pids run, with these start times. */
const host = (running: Readonly<Record<number, string | null>>): LeaseOwner.Host => ({
  host: "box/ns1",
  probe: (pid) => (pid in running ? { _tag: "Running", start: running[pid] ?? null } : { _tag: "Missing" })
})

describe("LeaseOwner", () => {
  it("formats and parses host:pid:start:instance, the host may hold colons; anything else is not an owner", () => {
    const owner = { host: "box/ns1", pid: 42, start: "1234", instance: "ab12cd34" }
    expect(LeaseOwner.format(owner)).toBe("box/ns1:42:1234:ab12cd34")
    expect(LeaseOwner.parse("box/ns1:42:1234:ab12cd34")).toStrictEqual(Option.some(owner))
    expect(LeaseOwner.parse("fe80::1:42::x")).toStrictEqual(Option.some({ host: "fe80::1", pid: 42, start: "", instance: "x" }))
    const others = ["node-a", "box:42:x", "box:42:1:", ":42:1:x", "box:0:1:x", "box:-1:1:x", "box:4x:1:x", "box:2147483648:1:x", "box:42:1a:x"]
    for (const other of others) expect(LeaseOwner.parse(other)).toStrictEqual(Option.none())
  })

  it("an owner of this namespace whose pid does not exist is gone; one whose process runs is not", () => {
    expect(LeaseOwner.isGone("box/ns1:7:500:a", host({}))).toBe(true)
    expect(LeaseOwner.isGone("box/ns1:7:500:a", host({ 7: "500" }))).toBe(false)
  })

  it("a pid now held by a process that started at another time was reused: the owner is gone", () => {
    expect(LeaseOwner.isGone("box/ns1:1:500:a", host({ 1: "900" }))).toBe(true)
    // A start time that cannot be compared proves nothing.
    expect(LeaseOwner.isGone("box/ns1:1::a", host({ 1: "900" }))).toBe(false)
    expect(LeaseOwner.isGone("box/ns1:1:500:a", host({ 1: null }))).toBe(false)
  })

  it("another host or pid namespace (same hostname, host networking), or a foreign string, is never judged gone", () => {
    expect(LeaseOwner.isGone("box/ns2:7:500:a", host({}))).toBe(false)
    expect(LeaseOwner.isGone("elsewhere/ns1:7:500:a", host({}))).toBe(false)
    expect(LeaseOwner.isGone("node-a", host({}))).toBe(false)
  })

  it("on this machine: this process's own owner is not gone; a pid that no process has is", () => {
    const mine = LeaseOwners.make()
    expect(LeaseOwners.isGone(mine)).toBe(false)
    const parsed = Option.getOrThrow(LeaseOwner.parse(mine))
    expect(parsed.pid).toBe(process.pid)
    expect(LeaseOwners.isGone(LeaseOwner.format({ ...parsed, pid: 2 ** 31 - 1 }))).toBe(true)
    expect(LeaseOwners.isGone(LeaseOwner.format({ ...parsed, start: `${Number(parsed.start) + 1}` }))).toBe(parsed.start !== "")
  })
})
