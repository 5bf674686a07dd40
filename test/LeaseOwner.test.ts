import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as LeaseOwner from "../src/domain/LeaseOwner.js"

// Which lease owners are known to be gone: only processes of this host can be judged.

const host = (existing: ReadonlyArray<number>, running: ReadonlyArray<string> = []): LeaseOwner.Host => ({
  hostname: "box",
  pid: 100,
  running: new Set(running),
  exists: (pid) => existing.includes(pid)
})

describe("LeaseOwner", () => {
  it("formats and parses host:pid:instance, the host may hold colons; anything else is not an owner", () => {
    const owner = { host: "box", pid: 42, instance: "ab12cd34" }
    expect(LeaseOwner.format(owner)).toBe("box:42:ab12cd34")
    expect(LeaseOwner.parse("box:42:ab12cd34")).toStrictEqual(Option.some(owner))
    expect(LeaseOwner.parse("fe80::1:42:x")).toStrictEqual(Option.some({ host: "fe80::1", pid: 42, instance: "x" }))
    for (const other of ["node-a", "box:42", "box:42:", ":42:x", "box:0:x", "box:-1:x", "box:4x:x", "box:12345678901:x"]) {
      expect(LeaseOwner.parse(other)).toStrictEqual(Option.none())
    }
  })

  it("an owner on this host whose process does not exist is gone; one that exists is not", () => {
    expect(LeaseOwner.isGone("box:7:a", host([]))).toBe(true)
    expect(LeaseOwner.isGone("box:7:a", host([7]))).toBe(false)
  })

  it("this process's pid: gone unless a scheduler here runs under that owner (a restarted container's pid 1)", () => {
    expect(LeaseOwner.isGone("box:100:old", host([100], ["box:100:new"]))).toBe(true)
    expect(LeaseOwner.isGone("box:100:new", host([100], ["box:100:new"]))).toBe(false)
  })

  it("another host, or a string not in troupe's format, is never judged gone", () => {
    expect(LeaseOwner.isGone("elsewhere:7:a", host([]))).toBe(false)
    expect(LeaseOwner.isGone("node-a", host([]))).toBe(false)
  })
})
