import { ConfigError, StoreError } from '../../core/errors.js'
import { GONE } from '../../core/store.js'
import type { ChangeSet, Gone, SessionRecord, SessionStore } from '../../core/store.js'
import { randomId, storageKey } from '../shared/ids.js'
import { changeSql, hasJsonFunctions, supportsQuotedLabels } from './change-sql.js'
import { decodeData, decodeRow, encodeJson } from './codec.js'
import type { SessionRow } from './codec.js'
import type { SqliteDatabase } from './database.js'
import { toStoreError } from './errors.js'
import { applyChanges } from '../../core/change-set.js'
import { resolveSqliteOptions } from './options.js'
import type { ResolvedSqliteOptions, SqliteStoreOptions } from './options.js'
import { createSchema } from './schema.js'
import { Statements } from './statements.js'

/** How long a renewed row keeps forwarding `delete` to its successor. */
const FORWARD_MS = 60_000

/** Fresh ids tried before `create` gives up; a second collision of 256-bit ids means a broken RNG. */
const CREATE_ATTEMPTS = 3

/**
 * Options of {@link SqliteStore.deleteExpired}.
 *
 * @example
 * ```ts
 * await store.deleteExpired({ batchSize: 500 } satisfies DeleteExpiredOptions)
 * ```
 */
export interface DeleteExpiredOptions {
  /** Rows deleted per statement; the event loop gets a turn between batches. Default 1000. */
  batchSize?: number
}

/**
 * A session store in SQLite through better-sqlite3. Rows are keyed by the SHA-256 of the session id;
 * `apply` is a single UPDATE (`json_set`/`json_remove` per key), so concurrent writers to different
 * keys of one session all land. Expiry is judged by the application's clock (`Date.now()`), which
 * is SQLite's clock too, since SQLite runs in-process.
 *
 * The driver is synchronous: each call runs to completion before its promise settles, and waits at
 * most `timeoutMs` for another connection's write lock.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3'
 * import { SqliteStore } from 'cloakroom/sqlite'
 *
 * const store = new SqliteStore({ db: new Database('sessions.db') })
 * await store.migrate()
 * setInterval(() => void store.deleteExpired(), 60_000).unref()
 * ```
 */
export class SqliteStore implements SessionStore {
  /** A deleted row is gone for every holder of its id. */
  readonly canInvalidate = true

  readonly #options: ResolvedSqliteOptions
  readonly #sql: Statements
  readonly #sqlChanges: boolean
  readonly #mergeTx: { immediate(key: string, changes: ChangeSet, expiresAt: number, now: number): boolean }
  readonly #renewTx: { immediate(key: string, changes: ChangeSet, expiresAt: number, now: number): string | Gone }

  constructor(options: SqliteStoreOptions) {
    this.#options = resolveSqliteOptions(options)
    const { db, table, wal, timeoutMs } = this.#options
    try {
      // Per-connection settings, so they belong here rather than in migrate(): every process that
      // opens the file needs them, whether or not it migrates. journal_mode=WAL persists in the file.
      db.pragma(`busy_timeout = ${timeoutMs}`)
      if (wal) {
        db.pragma('journal_mode = WAL')
        db.pragma('synchronous = NORMAL')
      }
      this.#sqlChanges = supportsQuotedLabels(db)
      this.#sql = new Statements(db, table, this.#sqlChanges || hasJsonFunctions(db))
    } catch (error) {
      throw toStoreError('setup', error, timeoutMs)
    }
    this.#mergeTx = db.transaction((key: string, changes: ChangeSet, expiresAt: number, now: number) =>
      this.#mergeInTransaction(key, changes, expiresAt, now),
    )
    this.#renewTx = db.transaction((key: string, changes: ChangeSet, expiresAt: number, now: number) =>
      this.#renewInTransaction(key, changes, expiresAt, now),
    )
  }

  /** The better-sqlite3 database the store works on. */
  get db(): SqliteDatabase {
    return this.#options.db
  }

  /** The table name the store uses. */
  get table(): string {
    return this.#options.table
  }

  /**
   * Creates the table and its expiry index if missing. Idempotent, and safe when several processes
   * run it on one file at once (it takes SQLite's write lock first).
   */
  async migrate(): Promise<void> {
    try {
      createSchema(this.#options.db, this.#options.table)
    } catch (error) {
      throw toStoreError('migrate', error, this.#options.timeoutMs)
    }
  }

  async load(id: string): Promise<SessionRecord | null> {
    const key = storageKey(id)
    let row: SessionRow | undefined
    try {
      row = this.#sql.load.get(key, Date.now()) as SessionRow | undefined
    } catch (error) {
      throw toStoreError('load', error, this.#options.timeoutMs)
    }
    if (row === undefined) return null
    const record = decodeRow(row)
    if (record === null) this.#dropCorrupt(key, row.data)
    return record
  }

  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    const data = encodeJson(record.data)
    const expiresAt = cappedExpiry(Date.now() + ttlMs, record.absoluteExpiresAt)
    try {
      for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        const id = randomId()
        if (this.#insert(storageKey(id), data, record.createdAt, record.absoluteExpiresAt, expiresAt)) return id
      }
    } catch (error) {
      throw toStoreError('create', error, this.#options.timeoutMs)
    }
    throw new StoreError('backend', `sqlite create found ${CREATE_ATTEMPTS} fresh ids taken; the random source is broken`)
  }

  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    if (!changes.clear && changes.remove.length === 0 && isEmpty(changes.set)) return this.touch(id, ttlMs)
    const key = storageKey(id)
    const now = Date.now()
    const expiresAt = now + ttlMs
    const change = this.#sqlChanges ? changeSql(changes) : null
    try {
      const applied =
        change === null
          ? this.#mergeTx.immediate(key, changes, expiresAt, now)
          : this.#sql.apply(change).run(...change.params, expiresAt, expiresAt, key, now).changes > 0
      return applied ? id : GONE
    } catch (error) {
      throw toStoreError('apply', error, this.#options.timeoutMs)
    }
  }

  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    const now = Date.now()
    try {
      return this.#renewTx.immediate(storageKey(id), changes, now + ttlMs, now)
    } catch (error) {
      throw toStoreError('renew', error, this.#options.timeoutMs)
    }
  }

  async touch(id: string, ttlMs: number): Promise<string | Gone> {
    const now = Date.now()
    const expiresAt = now + ttlMs
    try {
      return this.#sql.touch.run(expiresAt, expiresAt, storageKey(id), now).changes > 0 ? id : GONE
    } catch (error) {
      throw toStoreError('touch', error, this.#options.timeoutMs)
    }
  }

  async delete(id: string): Promise<void> {
    try {
      this.#sql.delete.run(storageKey(id), Date.now())
    } catch (error) {
      throw toStoreError('delete', error, this.#options.timeoutMs)
    }
  }

  /**
   * Deletes expired rows (and spent renew markers) in batches of `batchSize`, letting the event
   * loop run between batches. Safe from several processes at once: each batch is one statement
   * under SQLite's write lock. Resolves to the number of rows deleted.
   *
   * @example
   * ```ts
   * const removed = await store.deleteExpired({ batchSize: 500 })
   * ```
   */
  async deleteExpired(options: DeleteExpiredOptions = {}): Promise<number> {
    const { batchSize = 1000 } = options
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new ConfigError(`deleteExpired batchSize must be a positive integer (got ${String(batchSize)}); e.g. 1000`)
    }
    let total = 0
    for (;;) {
      let deleted: number
      try {
        deleted = this.#sql.deleteExpired.run(Date.now(), batchSize).changes
      } catch (error) {
        throw toStoreError('deleteExpired', error, this.#options.timeoutMs)
      }
      total += deleted
      if (deleted < batchSize) return total
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }

  /** Inserts a row; false when the key is taken (never overwrites). */
  #insert(key: string, data: string, createdAt: number, absolute: number | null, expiresAt: number): boolean {
    try {
      this.#sql.insert.run(key, data, createdAt, absolute, expiresAt)
      return true
    } catch (error) {
      if (isKeyCollision(error)) return false
      throw error
    }
  }

  // Runs inside an IMMEDIATE transaction: the write lock is held from the read to the write, so no
  // other connection's change can slip in between and be lost.
  #mergeInTransaction(key: string, changes: ChangeSet, expiresAt: number, now: number): boolean {
    const row = this.#sql.load.get(key, now) as SessionRow | undefined
    const data = row === undefined ? null : decodeData(row.data)
    if (data === null) return false
    this.#sql.writeData.run(encodeJson(applyChanges(data, changes)), expiresAt, expiresAt, key)
    return true
  }

  #renewInTransaction(key: string, changes: ChangeSet, expiresAt: number, now: number): string | Gone {
    const row = this.#sql.load.get(key, now) as SessionRow | undefined
    const record = row === undefined ? null : decodeRow(row)
    if (record === null) return GONE
    const data = encodeJson(applyChanges(record.data, changes))
    const capped = cappedExpiry(expiresAt, record.absoluteExpiresAt)
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const id = randomId()
      const newKey = storageKey(id)
      if (this.#insert(newKey, data, record.createdAt, record.absoluteExpiresAt, capped)) {
        this.#sql.mark.run(newKey, now + FORWARD_MS, key)
        return id
      }
    }
    throw new StoreError('backend', `sqlite renew found ${CREATE_ATTEMPTS} fresh ids taken; the random source is broken`)
  }

  // Corrupt data reads as "no session"; the row is useless, so it goes (best effort: a failure
  // here must not turn a read into an error).
  #dropCorrupt(key: string, data: unknown): void {
    try {
      this.#sql.dropCorrupt.run(key, data)
    } catch {
      // left for deleteExpired
    }
  }
}

function cappedExpiry(expiresAt: number, absolute: number | null): number {
  return absolute === null ? expiresAt : Math.min(expiresAt, absolute)
}

function isEmpty(object: Record<string, unknown>): boolean {
  for (const _ in object) return false
  return true
}

function isKeyCollision(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
