import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as RateLimit from "../../../domain/RateLimit.js"
import type { RateBucket } from "../TaskStore.js"
import { run, tuple, tuples } from "./sql.js"

// The rate_limits table: one row per bucket (domain/RateLimit), written by the claims that take
// from it, in their transaction, and read for stats and for when a held bucket reopens.

interface BucketRow {
  readonly bucket: string
  readonly type: string
  readonly rate_key: string | null
  readonly lim: number
  readonly per_ms: number
  readonly starts: string
}

const columns = "bucket, type, rate_key, lim, per_ms, starts"

const decodeStarts = Schema.decodeSync(Schema.parseJson(Schema.Array(Schema.Tuple(Schema.Number, Schema.Number))))

const toBucket = (row: BucketRow): RateBucket => ({
  bucket: row.bucket,
  type: row.type,
  rateKey: row.rate_key,
  // A per-key bucket is `type/key`; the limit's per-key flag follows from the name.
  limit: { limit: Number(row.lim), perMs: Number(row.per_ms), byKey: row.bucket.includes("/") },
  starts: decodeStarts(row.starts)
})

/** These buckets, or the first `limit` with starts still counting at `busyAt`, by name. */
export const list = (filter: { readonly buckets: ReadonlyArray<string> } | { readonly busyAt: number; readonly limit: number }) =>
  Effect.map(
    "buckets" in filter
      ? filter.buckets.length === 0
        ? Effect.succeed([])
        : run<BucketRow>(`SELECT ${columns} FROM rate_limits WHERE bucket IN ${tuple(filter.buckets.length)} ORDER BY bucket`, filter.buckets)
      : run<BucketRow>(`SELECT ${columns} FROM rate_limits WHERE idle_at > ? ORDER BY bucket LIMIT ?`, [filter.busyAt, filter.limit]),
    (rows) => rows.map(toBucket)
  )

/** Records buckets' recent starts and the limit each was claimed under, in one statement. */
export const record = (buckets: ReadonlyArray<{ readonly bucket: string; readonly limit: RateLimit.RateLimit; readonly starts: RateLimit.Starts }>) =>
  buckets.length === 0 ? Effect.void : Effect.asVoid(run(
    `INSERT INTO rate_limits (bucket, type, rate_key, lim, per_ms, starts, idle_at) VALUES ${tuples(buckets.length, 7)}
     ON CONFLICT (bucket) DO UPDATE SET lim = excluded.lim, per_ms = excluded.per_ms, starts = excluded.starts, idle_at = excluded.idle_at`,
    buckets.flatMap(({ bucket, limit, starts }) => {
      const { rateKey, type } = RateLimit.partsOf(bucket)
      return [bucket, type, rateKey === undefined || rateKey === "" ? null : rateKey, limit.limit, limit.perMs, JSON.stringify(starts), RateLimit.idleAt(limit, starts)]
    })
  ))
