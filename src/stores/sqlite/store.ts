import { ConfigError, StoreError } from '../../core/errors.js'
import type { RevocationList } from '../../core/revocation.js'
import { MARKER_WINDOW_MS } from '../../core/store.js'
import type { Json } from '../../core/json.js'
import type { ChangeSet, Missing, RevokeSelection, SessionOwner, SessionRecord, SessionStore, UserSessionEntry } from '../../core/store.js'
import { randomId, storageKey } from '../shared/ids.js'
import { missingFrom } from '../shared/markers.js'
import { ownerValues } from '../shared/owner.js'
import { checkSelection, checkUserId } from '../shared/user-input.js'
import type { Selection } from '../shared/user-input.js'
import { changeSql, hasJsonFunctions, supportsQuotedLabels } from './change-sql.js'
import { decodeData, decodeEntry, decodeRow, encodeJson } from './codec.js'
import type { SessionRow, UserSessionRow } from './codec.js'
import type { SqliteDatabase } from './database.js'
import { toStoreError } from './errors.js'
import { applyChanges } from '../../core/change-set.js'
import { resolveSqliteOptions } from './options.js'
import type { ResolvedSqliteOptions, SqliteStoreOptions } from './options.js'
import { sqliteRevocationList } from './revocations.js'
import { createSchema } from './schema.js'
import { Statements } from './statements.js'

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
 * keys of one session all land. Expiry is judged by the application's clock (`Date.now()`, or the
 * `clock` option), which is SQLite's clock too, since SQLite runs in-process.
 *
 * `apply`, `touch`, `renew` and `delete` each run in one IMMEDIATE transaction; a write that finds no
 * live row reads why (`GONE`, `RENEWED` or `EXPIRED`) in the same transaction. `renew` leaves a
 * forwarding marker row and `delete` a purge marker row on every id it ends, each for 60 s
 * (`MARKER_WINDOW_MS`).
 *
 * A session's owner (see `SessionOwner`) lives in columns of its row, `user_id` indexed: `renew`
 * moves it with the row, `delete` clears it, `listByUser` is one indexed SELECT and `revokeByUser`
 * one IMMEDIATE transaction. `revocationList()` keeps the cookie store's revocation marks in
 * `<table>_revocations`.
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
  readonly #clock: () => number
  readonly #writeTx: { immediate(key: string, now: number, write: () => boolean): Missing | null }
  readonly #renewTx: { immediate(key: string, changes: ChangeSet, expiresAt: number, now: number): string | Missing }
  readonly #deleteTx: { immediate(key: string, now: number): void }
  readonly #takeTx: { immediate(key: string, field: string, now: number): Json | undefined }
  readonly #revokeTx: { immediate(userId: string, selection: Selection, now: number): number }

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
    this.#clock = this.#options.clock
    // The write and, when it found no live row, the read of why share one IMMEDIATE transaction: no
    // other connection can end or renew the row between the miss and its explanation.
    this.#writeTx = db.transaction((key: string, now: number, write: () => boolean) =>
      write() ? null : this.#whyMissing(key, now),
    )
    this.#renewTx = db.transaction((key: string, changes: ChangeSet, expiresAt: number, now: number) =>
      this.#renewInTransaction(key, changes, expiresAt, now),
    )
    this.#deleteTx = db.transaction((key: string, now: number) => this.#deleteInTransaction(key, now))
    this.#takeTx = db.transaction((key: string, field: string, now: number) => this.#takeInTransaction(key, field, now))
    this.#revokeTx = db.transaction((userId: string, selection: Selection, now: number) => this.#revokeInTransaction(userId, selection, now))
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
   * Creates the table, its indexes and the revocation table if missing, and upgrades a table made by
   * an earlier release (adds the owner columns; every session is kept). Idempotent, and safe when
   * several processes run it on one file at once (it takes SQLite's write lock first).
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
      row = this.#sql.load.get(key, this.#clock()) as SessionRow | undefined
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
    const expiresAt = cappedExpiry(this.#clock() + ttlMs, record.absoluteExpiresAt)
    try {
      for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        const id = randomId()
        if (this.#insert(storageKey(id), data, record.createdAt, record.absoluteExpiresAt, expiresAt, record.owner)) return id
      }
    } catch (error) {
      throw toStoreError('create', error, this.#options.timeoutMs)
    }
    throw new StoreError('backend', `sqlite create found ${CREATE_ATTEMPTS} fresh ids taken; the random source is broken`)
  }

  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const { owner } = changes
    if (owner === undefined && !changes.clear && changes.remove.length === 0 && isEmpty(changes.set)) return this.touch(id, ttlMs)
    const key = storageKey(id)
    const now = this.#clock()
    const expiresAt = now + ttlMs
    const change = this.#sqlChanges ? changeSql(changes) : null
    const writeData =
      change === null
        ? () => this.#merge(key, changes, expiresAt, now)
        : () => this.#sql.apply(change).run(...change.params, expiresAt, expiresAt, key, now).changes > 0
    // Filing rides in the same transaction as the data: both land, or neither. A change set without
    // an owner (every request but a login, a logout or a last-seen refresh) runs the data write alone.
    const write = owner === undefined ? writeData : () => writeData() && this.#sql.setOwner.run(...ownerValues(owner), key).changes > 0
    try {
      return this.#writeTx.immediate(key, now, write) ?? id
    } catch (error) {
      throw toStoreError('apply', error, this.#options.timeoutMs)
    }
  }

  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const now = this.#clock()
    try {
      return this.#renewTx.immediate(storageKey(id), changes, now + ttlMs, now)
    } catch (error) {
      throw toStoreError('renew', error, this.#options.timeoutMs)
    }
  }

  async touch(id: string, ttlMs: number): Promise<string | Missing> {
    const key = storageKey(id)
    const now = this.#clock()
    const expiresAt = now + ttlMs
    try {
      return this.#writeTx.immediate(key, now, () => this.#sql.touch.run(expiresAt, expiresAt, key, now).changes > 0) ?? id
    } catch (error) {
      throw toStoreError('touch', error, this.#options.timeoutMs)
    }
  }

  /**
   * Removes `key` from the live row's data and returns its value, in one IMMEDIATE transaction (the
   * write lock is held from the read to the write, so of two takes only one finds the key);
   * `undefined` when absent. The expiry is left alone.
   *
   * @example
   * ```ts
   * const notice = await store.take(id, '~flash:notice')
   * ```
   */
  async take(id: string, key: string): Promise<Json | undefined> {
    try {
      return this.#takeTx.immediate(storageKey(id), key, this.#clock())
    } catch (error) {
      throw toStoreError('take', error, this.#options.timeoutMs)
    }
  }

  /**
   * Ends the session in one IMMEDIATE transaction: the row, and every row its forwarding markers
   * within their window lead to (up to 8 renews), each replaced by a purge marker for 60 s, so a write
   * racing the logout answers `GONE`. An id the store never had gets a purge marker too. Idempotent.
   *
   * @example
   * ```ts
   * await store.delete(id)
   * ```
   */
  async delete(id: string): Promise<void> {
    try {
      this.#deleteTx.immediate(storageKey(id), this.#clock())
    } catch (error) {
      throw toStoreError('delete', error, this.#options.timeoutMs)
    }
  }

  /**
   * The live sessions filed under `userId`, newest first, from one SELECT on the `user_id` index.
   *
   * @example
   * ```ts
   * const devices = await store.listByUser('u42')
   * ```
   */
  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    checkUserId('sqlite listByUser', userId)
    let rows: UserSessionRow[]
    try {
      rows = this.#sql.listByUser.all(userId, this.#clock()) as UserSessionRow[]
    } catch (error) {
      throw toStoreError('listByUser', error, this.#options.timeoutMs)
    }
    // A row whose owner columns cannot be read back is left out: the listing only shows what loads.
    return rows.flatMap((row) => decodeEntry(userId, row) ?? [])
  }

  /**
   * Ends the selected live sessions of `userId` (and only that user's) as `delete` does, each row
   * becoming a purge marker for 60 s, in one IMMEDIATE transaction; resolves to how many it ended.
   *
   * @example
   * ```ts
   * await store.revokeByUser('u42', { except: currentHandle })
   * ```
   */
  async revokeByUser(userId: string, selection: RevokeSelection): Promise<number> {
    checkUserId('sqlite revokeByUser', userId)
    const chosen = checkSelection('sqlite revokeByUser', selection)
    if ('handles' in chosen && chosen.handles.length === 0) return 0
    try {
      return this.#revokeTx.immediate(userId, chosen, this.#clock())
    } catch (error) {
      throw toStoreError('revokeByUser', error, this.#options.timeoutMs)
    }
  }

  /**
   * A revocation list in this database (`<table>_revocations`, created by `migrate()`), for the
   * cookie store's revocable sessions. Marks expire by this store's clock.
   *
   * @example
   * ```ts
   * const cookies = new CookieStore({ revocations: sqliteStore.revocationList() })
   * ```
   */
  revocationList(): RevocationList {
    return sqliteRevocationList(this.#sql, this.#clock, this.#options.timeoutMs)
  }

  /**
   * Deletes expired rows (spent renew and purge markers included) and expired revocation marks in
   * batches of `batchSize`, letting the event loop run between batches. Safe from several processes
   * at once: each batch is one statement under SQLite's write lock. Resolves to the number of rows
   * deleted.
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
    for (const statement of [this.#sql.deleteExpired, this.#sql.deleteExpiredRevocations]) {
      for (;;) {
        let deleted: number
        try {
          deleted = statement.run(this.#clock(), batchSize).changes
        } catch (error) {
          throw toStoreError('deleteExpired', error, this.#options.timeoutMs)
        }
        total += deleted
        if (deleted < batchSize) break
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
    return total
  }

  /** Inserts a row; false when the key is taken (never overwrites). */
  #insert(key: string, data: string, createdAt: number, absolute: number | null, expiresAt: number, owner: SessionOwner | undefined): boolean {
    try {
      this.#sql.insert.run(key, data, createdAt, absolute, expiresAt, ...ownerValues(owner))
      return true
    } catch (error) {
      if (isKeyCollision(error)) return false
      throw error
    }
  }

  // Runs inside an IMMEDIATE transaction: the write lock is held from the read to the write, so no
  // other connection's change can slip in between and be lost.
  #merge(key: string, changes: ChangeSet, expiresAt: number, now: number): boolean {
    const row = this.#sql.load.get(key, now) as SessionRow | undefined
    const data = row === undefined ? null : decodeData(row.data)
    if (data === null) return false
    this.#sql.writeData.run(encodeJson(applyChanges(data, changes)), expiresAt, expiresAt, key)
    return true
  }

  #takeInTransaction(key: string, field: string, now: number): Json | undefined {
    const row = this.#sql.load.get(key, now) as SessionRow | undefined
    const data = row === undefined ? null : decodeData(row.data)
    if (data === null || !Object.hasOwn(data, field)) return undefined
    const value = data[field] as Json
    this.#sql.setData.run(encodeJson(applyChanges(data, { clear: false, set: {}, remove: [field] })), key)
    return value
  }

  #renewInTransaction(key: string, changes: ChangeSet, expiresAt: number, now: number): string | Missing {
    const row = this.#sql.load.get(key, now) as SessionRow | undefined
    const record = row === undefined ? null : decodeRow(row)
    if (record === null) return this.#whyMissing(key, now)
    const data = encodeJson(applyChanges(record.data, changes))
    const capped = cappedExpiry(expiresAt, record.absoluteExpiresAt)
    // The owner moves with the row, handle included, unless the change set files or unfiles it.
    const owner = changes.owner === undefined ? record.owner : (changes.owner ?? undefined)
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const id = randomId()
      const newKey = storageKey(id)
      if (this.#insert(newKey, data, record.createdAt, record.absoluteExpiresAt, capped, owner)) {
        this.#sql.mark.run(newKey, now + MARKER_WINDOW_MS, key)
        return id
      }
    }
    throw new StoreError('backend', `sqlite renew found ${CREATE_ATTEMPTS} fresh ids taken; the random source is broken`)
  }

  // Inside a transaction. The whole chain is read before the first purge marker cuts it.
  #deleteInTransaction(key: string, now: number): void {
    const keys = this.#sql.chain.all(key, now) as { k: string }[]
    for (const { k } of keys) this.#sql.purge.run(k, now + MARKER_WINDOW_MS)
  }

  // Inside a transaction: nothing can renew, file or end the user's sessions between the statements.
  #revokeInTransaction(userId: string, selection: Selection, now: number): number {
    const markerExpiresAt = now + MARKER_WINDOW_MS
    if ('except' in selection) return this.#sql.revokeAllBut.run(markerExpiresAt, userId, now, selection.except).changes
    let ended = 0
    for (const handle of selection.handles) ended += this.#sql.revokeHandle.run(markerExpiresAt, userId, now, handle).changes
    return ended
  }

  // Inside the write's transaction. A corrupt row has no marker: it is EXPIRED, as it loads as absent.
  #whyMissing(key: string, now: number): Missing {
    return missingFrom((this.#sql.marker.get(key, now) as { forward_to: unknown } | undefined)?.forward_to)
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
