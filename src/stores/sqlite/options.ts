import { ConfigError } from '../../core/errors.js'
import type { SqliteDatabase } from './database.js'

/**
 * Options of {@link SqliteStore}.
 *
 * @example
 * ```ts
 * const options: SqliteStoreOptions = { db: new Database('sessions.db'), table: 'sessions' }
 * ```
 */
export interface SqliteStoreOptions {
  /** A better-sqlite3 `Database` on a file or `:memory:`; the store never opens or closes it. */
  db: SqliteDatabase
  /** The table holding the sessions. Default `'cloakroom_sessions'`. */
  table?: string
  /** Put the database in WAL mode with `synchronous=NORMAL`. Default `true`. */
  wal?: boolean
  /** How long a call may wait for SQLite's write lock before failing with a timeout. Default 2000 ms. */
  timeoutMs?: number
  /**
   * The clock every instant comes from, in epoch milliseconds: expiry, and the 60 s window of the
   * renew and purge markers. Default `Date.now`; tests pass one they control.
   */
  clock?: () => number
}

/**
 * The options with defaults filled in and checked.
 */
export interface ResolvedSqliteOptions {
  db: SqliteDatabase
  table: string
  wal: boolean
  timeoutMs: number
  clock: () => number
}

// Plain identifiers only: the name is spliced into SQL (quoted, but quoting is not a licence for
// arbitrary text), and `sqlite_` names are reserved by SQLite itself.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * Fills in defaults and rejects options that cannot work, with a message naming the fix.
 */
export function resolveSqliteOptions(options: SqliteStoreOptions): ResolvedSqliteOptions {
  const { db, table = 'cloakroom_sessions', wal = true, timeoutMs = 2000, clock = () => Date.now() } = options
  if (db === null || typeof db !== 'object' || typeof db.prepare !== 'function') {
    throw new ConfigError('SqliteStore needs `db`: pass a better-sqlite3 Database, e.g. new Database("sessions.db")')
  }
  if (typeof table !== 'string' || !IDENTIFIER.test(table) || table.toLowerCase().startsWith('sqlite_')) {
    throw new ConfigError(
      `SqliteStore table ${JSON.stringify(table)} is not a plain identifier; use 1–63 letters, digits or underscores, ` +
        'starting with a letter or underscore and not with "sqlite_" (e.g. "cloakroom_sessions")',
    )
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigError(`SqliteStore timeoutMs must be a positive integer of milliseconds (got ${String(timeoutMs)}); e.g. 2000`)
  }
  if (typeof clock !== 'function') {
    throw new ConfigError('SqliteStore clock must be a function returning epoch milliseconds; pass e.g. clock: () => Date.now()')
  }
  return { db, table, wal, timeoutMs, clock }
}
