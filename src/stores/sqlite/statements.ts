import type { ChangeSql } from './change-sql.js'
import type { SqliteDatabase, SqliteStatement } from './database.js'
import { Lru } from './lru.js'
import { quoteIdentifier, revocationTable } from './schema.js'

/** How many change-set shapes keep a prepared statement; the SQL text varies with the key counts. */
const DYNAMIC_CACHE_SIZE = 64

/** How many renew hops `delete` follows through forwarding markers within their window. */
const MAX_FORWARD_HOPS = 8

/** A purge marker keeps no owner: it is no one's session, and the user's id leaves the row. */
const PURGED_OWNER = 'user_id = NULL, user_handle = NULL, last_seen_at = NULL, user_info = NULL'

/**
 * The store's SQL, prepared once per store on first use (the table may not exist before
 * `migrate()`). Every instant is a bound parameter from the application's clock.
 */
export class Statements {
  readonly #db: SqliteDatabase
  readonly #table: string
  readonly #revocations: string
  readonly #valid: string
  readonly #live: string
  readonly #fixed = new Map<string, SqliteStatement>()
  readonly #dynamic = new Lru<string, SqliteStatement>(DYNAMIC_CACHE_SIZE)

  constructor(db: SqliteDatabase, table: string, checkJson: boolean) {
    this.#db = db
    this.#table = quoteIdentifier(table)
    this.#revocations = quoteIdentifier(revocationTable(table))
    // A live row: unexpired, not a marker, and (where SQLite has JSON functions) holding a JSON
    // object, so that a corrupt row is missing to writers as it is absent to readers. CASE
    // guarantees json_type never sees invalid JSON (it would raise an error).
    this.#valid = checkJson ? ` AND CASE WHEN json_valid(data) THEN json_type(data) = 'object' ELSE 0 END` : ''
    this.#live = `key = ? AND expires_at > ? AND forward_to IS NULL${this.#valid}`
  }

  /** `(key, now)` → the live row's data, created_at, absolute_expires_at and owner columns. */
  get load(): SqliteStatement {
    return this.#prepare(
      'load',
      `SELECT data, created_at, absolute_expires_at, user_id, user_handle, last_seen_at, user_info
       FROM ${this.#table} WHERE key = ? AND expires_at > ? AND forward_to IS NULL`,
    )
  }

  /** `(key, data)`: drops a row found corrupt, unless it changed since it was read. */
  get dropCorrupt(): SqliteStatement {
    return this.#prepare('dropCorrupt', `DELETE FROM ${this.#table} WHERE key = ? AND data IS ?`)
  }

  /**
   * `(key, data, createdAt, absoluteExpiresAt, expiresAt, userId, userHandle, lastSeenAt, userInfo)`:
   * a plain INSERT, so a taken key fails. The owner values are `NULL` for an unfiled session.
   */
  get insert(): SqliteStatement {
    return this.#prepare(
      'insert',
      `INSERT INTO ${this.#table} (key, data, created_at, absolute_expires_at, expires_at, user_id, user_handle, last_seen_at, user_info)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
  }

  /**
   * `(userId, userHandle, lastSeenAt, userInfo, key)`: files (or, with `NULL`s, unfiles) a row that
   * the same transaction has just written, so the owner lands with the write or not at all.
   */
  get setOwner(): SqliteStatement {
    return this.#prepare('setOwner', `UPDATE ${this.#table} SET user_id = ?, user_handle = ?, last_seen_at = ?, user_info = ? WHERE key = ?`)
  }

  /**
   * `(userId, now)` → the user's live sessions, newest first: `user_handle, created_at, last_seen_at,
   * expires_at, user_info`. Served by the partial index on `user_id` (`user_id = ?` implies the index's
   * `user_id IS NOT NULL`).
   */
  get listByUser(): SqliteStatement {
    return this.#prepare(
      'listByUser',
      `SELECT user_handle, created_at, last_seen_at, expires_at, user_info FROM ${this.#table}
       WHERE user_id = ? AND expires_at > ? AND forward_to IS NULL${this.#valid}
       ORDER BY created_at DESC, key`,
    )
  }

  /**
   * `(markerExpiresAt, userId, now, handle)`: ends the user's live session holding that handle with a
   * purge marker, as `purge` does.
   */
  get revokeHandle(): SqliteStatement {
    return this.#prepare('revokeHandle', `${this.#revokeUpdate()} AND user_handle = ?`)
  }

  /**
   * `(markerExpiresAt, userId, now, except)`: ends every live session of the user except the one
   * holding `except` (`NULL`: none spared) with a purge marker, as `purge` does.
   */
  get revokeAllBut(): SqliteStatement {
    // `x IS NOT NULL` is true for every filed row, so a NULL `except` spares none.
    return this.#prepare('revokeAllBut', `${this.#revokeUpdate()} AND user_handle IS NOT ?`)
  }

  /** `(userId, now)` → the user's unexpired revocation mark: `before, except_handle`. */
  get revocationGet(): SqliteStatement {
    return this.#prepare(
      'revocationGet',
      `SELECT before, except_handle FROM ${this.#revocations} WHERE user_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
    )
  }

  /** `(userId, before, exceptHandle, expiresAt)`: replaces the user's revocation mark. */
  get revocationSet(): SqliteStatement {
    return this.#prepare(
      'revocationSet',
      `INSERT INTO ${this.#revocations} (user_id, before, except_handle, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET before = excluded.before, except_handle = excluded.except_handle, expires_at = excluded.expires_at`,
    )
  }

  /** `(now, limit)`: deletes up to `limit` expired revocation marks. */
  get deleteExpiredRevocations(): SqliteStatement {
    return this.#prepare(
      'deleteExpiredRevocations',
      `DELETE FROM ${this.#revocations} WHERE user_id IN (SELECT user_id FROM ${this.#revocations} WHERE expires_at <= ? LIMIT ?)`,
    )
  }

  /** `(expiresAt, expiresAt, key, now)`: moves a live row's expiry, capped by its absolute end. */
  get touch(): SqliteStatement {
    // min(x, NULL) is NULL in SQLite: the cap must be coalesced, or a session without an absolute
    // end would get a NULL expiry.
    return this.#prepare(
      'touch',
      `UPDATE ${this.#table} SET expires_at = min(?, coalesce(absolute_expires_at, ?)) WHERE ${this.#live}`,
    )
  }

  /** `(data, expiresAt, expiresAt, key)`: writes data merged in JavaScript (inside a transaction). */
  get writeData(): SqliteStatement {
    return this.#prepare(
      'writeData',
      `UPDATE ${this.#table} SET data = ?, expires_at = min(?, coalesce(absolute_expires_at, ?)) WHERE key = ?`,
    )
  }

  /** `(data, key)`: writes data merged in JavaScript, expiry untouched (inside a transaction). */
  get setData(): SqliteStatement {
    return this.#prepare('setData', `UPDATE ${this.#table} SET data = ? WHERE key = ?`)
  }

  /** `(newKey, markerExpiresAt, oldKey)`: turns a renewed row into a forwarding marker with no data. */
  get mark(): SqliteStatement {
    return this.#prepare('mark', `UPDATE ${this.#table} SET data = '{}', forward_to = ?, expires_at = ? WHERE key = ?`)
  }

  /**
   * `(key, now)` → the `forward_to` of the key's unexpired marker row, if any: why a write found no
   * live row (see `missingFrom`). Run in the write's transaction, so the answer and the miss agree.
   */
  get marker(): SqliteStatement {
    return this.#prepare('marker', `SELECT forward_to FROM ${this.#table} WHERE key = ? AND expires_at > ? AND forward_to IS NOT NULL`)
  }

  /**
   * `(key, now)` → the key and every key its forwarding markers within their window lead to, as
   * rows of `{ k }`. A purge marker (`forward_to = ''`) ends the chain, as does an expired marker.
   */
  get chain(): SqliteStatement {
    return this.#prepare(
      'chain',
      `WITH RECURSIVE chain(k, hops) AS (
         SELECT ?, 0
         UNION
         SELECT t.forward_to, chain.hops + 1 FROM ${this.#table} AS t JOIN chain ON t.key = chain.k
         WHERE t.forward_to <> '' AND t.expires_at > ? AND chain.hops < ${MAX_FORWARD_HOPS}
       )
       SELECT k FROM chain`,
    )
  }

  /**
   * `(key, markerExpiresAt)`: ends whatever the key holds (a session, a marker, or nothing) with a
   * purge marker: no data, no owner, `forward_to = ''`, alive until `markerExpiresAt`.
   */
  get purge(): SqliteStatement {
    return this.#prepare(
      'purge',
      `INSERT INTO ${this.#table} (key, data, created_at, absolute_expires_at, expires_at, forward_to) VALUES (?, '{}', 0, NULL, ?, '')
       ON CONFLICT (key) DO UPDATE SET data = '{}', absolute_expires_at = NULL, expires_at = excluded.expires_at, forward_to = '',
         ${PURGED_OWNER}`,
    )
  }

  /** `(now, limit)`: deletes up to `limit` expired rows (markers included). */
  get deleteExpired(): SqliteStatement {
    return this.#prepare(
      'deleteExpired',
      `DELETE FROM ${this.#table} WHERE key IN (SELECT key FROM ${this.#table} WHERE expires_at <= ? LIMIT ?)`,
    )
  }

  /** `(...change params, expiresAt, expiresAt, key, now)`: applies a change set in one UPDATE. */
  apply(change: ChangeSql): SqliteStatement {
    let statement = this.#dynamic.get(change.shape)
    if (statement === undefined) {
      statement = this.#db.prepare(
        `UPDATE ${this.#table} SET data = ${change.expression}, expires_at = min(?, coalesce(absolute_expires_at, ?)) WHERE ${this.#live}`,
      )
      this.#dynamic.set(change.shape, statement)
    }
    return statement
  }

  /** How many dynamic statements are cached (bounded). */
  get dynamicCount(): number {
    return this.#dynamic.size
  }

  /** The purge of `purge`, over the live sessions of one user; callers add the handle condition. */
  #revokeUpdate(): string {
    return `UPDATE ${this.#table} SET data = '{}', absolute_expires_at = NULL, expires_at = ?, forward_to = '', ${PURGED_OWNER}
       WHERE user_id = ? AND expires_at > ? AND forward_to IS NULL${this.#valid}`
  }

  #prepare(name: string, sql: string): SqliteStatement {
    let statement = this.#fixed.get(name)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      this.#fixed.set(name, statement)
    }
    return statement
  }
}
