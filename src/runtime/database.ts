/** Whether the store's `database` setting names PostgreSQL (a postgres:// URL) rather than a SQLite file. */
export const isPostgres = (database: string): boolean => /^postgres(ql)?:\/\//i.test(database)

/** The setting as it may be printed: a URL without its password. */
export const describe = (database: string): string => {
  if (!isPostgres(database)) return database
  try {
    const url = new URL(database)
    if (url.password !== "") url.password = "***"
    return url.toString()
  } catch {
    return "postgres://(unreadable URL)"
  }
}
