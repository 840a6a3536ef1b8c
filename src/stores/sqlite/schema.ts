import type { SqliteDatabase } from './database.js'

/**
 * Double-quotes an identifier already checked by `resolveSqliteOptions`.
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * Creates the sessions table and its expiry index if they are missing. `key` is the SHA-256 storage
 * key, never the id; `forward_to` marks a row left behind by `renew` (it holds the new row's
 * storage key and never loads). Instants are epoch milliseconds from the application's clock.
 *
 * The statements run in one IMMEDIATE transaction: a second process migrating the same file waits
 * for the write lock, then finds everything in place.
 */
export function createSchema(db: SqliteDatabase, table: string): void {
  const quoted = quoteIdentifier(table)
  db.transaction(() => {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoted} (
        key TEXT NOT NULL PRIMARY KEY,
        data TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        absolute_expires_at INTEGER,
        expires_at INTEGER NOT NULL,
        forward_to TEXT
      )`,
    )
    db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}_expires_at`)} ON ${quoted} (expires_at)`)
  }).immediate()
}
