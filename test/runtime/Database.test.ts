import { describe, expect, it } from "@effect/vitest"
import * as Database from "../../src/runtime/database.js"

describe("the database setting", () => {
  it("a postgres:// URL selects PostgreSQL and is printed without its password; anything else is a SQLite file", () => {
    expect(Database.isPostgres("postgres://u:secret@db:5432/q")).toBe(true)
    expect(Database.isPostgres("postgresql://db/q")).toBe(true)
    expect(Database.isPostgres("./troupe.db")).toBe(false)
    expect(Database.isPostgres(":memory:")).toBe(false)
    expect(Database.describe("postgres://u:secret@db:5432/q")).toBe("postgres://u:***@db:5432/q")
    expect(Database.describe("postgres://u@db/q")).toBe("postgres://u@db/q")
    expect(Database.describe("./troupe.db")).toBe("./troupe.db")
  })
})
