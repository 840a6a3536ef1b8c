import type { SqliteDatabase } from './database.js'

/**
 * Double-quotes an identifier already checked by `resolveSqliteOptions`.
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** The table of revocation marks kept next to the sessions table `table`. */
export function revocationTable(table: string): string {
  return `${table}_revocations`
}

/** The owner columns, added to a table created by an earlier release (all nullable: `NULL` = unfiled). */
const OWNER_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['user_id', 'TEXT'],
  ['user_handle', 'TEXT'],
  ['last_seen_at', 'INTEGER'],
  ['user_info', 'TEXT'],
]

/**
 * Creates the sessions table, its indexes and the revocation table if they are missing, and
 * upgrades a sessions table from an earlier release by adding the owner columns it lacks. `key` is
 * the SHA-256 storage key, never the id; `forward_to` marks a row left behind by `renew` (it holds
 * the new row's storage key and never loads) or `delete` (`''`). The owner columns file a session
 * under its user; the partial index on `user_id` serves the per-user listing. Instants are epoch
 * milliseconds from the application's clock.
 *
 * The statements run in one IMMEDIATE transaction: a second process migrating the same file waits
 * for the write lock, then finds everything in place. SQLite's ADD COLUMN of a nullable column
 * without a default only edits the schema, so the upgrade keeps every row and takes no time per row.
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
        forward_to TEXT,
        ${OWNER_COLUMNS.map(([name, type]) => `${name} ${type}`).join(',\n        ')}
      )`,
    )
    // SQLite has no ADD COLUMN IF NOT EXISTS: read what the table has.
    const present = new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((c) => c.name))
    for (const [name, type] of OWNER_COLUMNS) {
      if (!present.has(name)) db.exec(`ALTER TABLE ${quoted} ADD COLUMN ${name} ${type}`)
    }
    db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}_expires_at`)} ON ${quoted} (expires_at)`)
    db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}_user_id`)} ON ${quoted} (user_id) WHERE user_id IS NOT NULL`)
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(revocationTable(table))} (
        user_id TEXT NOT NULL PRIMARY KEY,
        before INTEGER NOT NULL,
        except_handle TEXT,
        expires_at INTEGER
      )`,
    )
  }).immediate()
}
