import * as Schema from "effect/Schema"

/** A task's identity: an opaque, URL-safe string chosen by the submitting side. */
export const TaskId = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(128),
  Schema.pattern(/^[A-Za-z0-9_.:-]+$/),
  Schema.brand("TaskId")
).annotations({ identifier: "TaskId", description: "a task id: 1 to 128 letters, digits, or _ . : -" })
export type TaskId = typeof TaskId.Type

/** Builds a TaskId without validation (ids minted by troupe itself). */
export const unsafeMake = (id: string): TaskId => id as TaskId

const hex = (bytes: Uint8Array): string => {
  let out = ""
  for (const b of bytes) out += b.toString(16).padStart(2, "0")
  return out
}

/**
 * A new id that sorts by creation time: 12 hex digits of epoch ms, then 64 random bits. Time
 * order keeps the store's id index append-mostly (measured: half the insert cost of random
 * UUIDs on SQLite). The random part comes from the platform CSPRNG, not Effect's Random: ids
 * must not repeat across processes or seeded test runs.
 */
export const generate = (nowMs: number, random: Uint8Array = crypto.getRandomValues(new Uint8Array(8))): TaskId =>
  unsafeMake(`${Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, "0")}-${hex(random)}`)

/** Generates ids with the random bits drawn in bulk (one CSPRNG call per 512 ids). */
export const makeGenerator = (): (nowMs: number) => TaskId => {
  const pool = new Uint8Array(4096)
  let offset = pool.length
  return (nowMs) => {
    if (offset + 8 > pool.length) {
      crypto.getRandomValues(pool)
      offset = 0
    }
    const id = generate(nowMs, pool.subarray(offset, offset + 8))
    offset += 8
    return id
  }
}
