// The conditions of the store's partial indexes, one text for every dialect: SQLite (and the
// PostgreSQL planner, for its partial indexes) uses a partial index only when the query repeats
// its WHERE term, so statements build their conditions from these same strings. Migrations were
// built from this text: never edit it (a new index needs a new migration).

/**
 * The statuses indexed for `list` by tasks_listed. `list` adds `term` when every status it asks
 * for is here.
 */
export const listed = {
  statuses: ["blocked", "delayed", "retrying", "paused", "failed", "cancelled"],
  term: "status IN ('blocked', 'delayed', 'retrying', 'paused', 'failed', 'cancelled')"
} as const

/** Unfinished statuses, as tasks_key's WHERE clause spells them. */
export const active = "status NOT IN ('completed', 'failed', 'cancelled')"
/** Final statuses, as tasks_finished's WHERE clause spells them. */
export const final = "status IN ('completed', 'failed', 'cancelled')"
