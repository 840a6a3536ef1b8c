import type { ChangeSql } from './change-sql.js'
import type { SqliteDatabase, SqliteStatement } from './database.js'
import { Lru } from './lru.js'
import { quoteIdentifier } from './schema.js'

/** How many change-set shapes keep a prepared statement; the SQL text varies with the key counts. */
const DYNAMIC_CACHE_SIZE = 64

/** How many renew hops `delete` follows through forwarding markers. */
const MAX_FORWARD_HOPS = 8

/**
 * The store's SQL, prepared once per store on first use (the table may not exist before
 * `migrate()`). Every instant is a bound parameter from the application's clock.
 */
export class Statements {
  readonly #db: SqliteDatabase
  readonly #table: string
  readonly #live: string
  readonly #fixed = new Map<string, SqliteStatement>()
  readonly #dynamic = new Lru<string, SqliteStatement>(DYNAMIC_CACHE_SIZE)

  constructor(db: SqliteDatabase, table: string, checkJson: boolean) {
    this.#db = db
    this.#table = quoteIdentifier(table)
    // A live row: unexpired, not a renew marker, and (where SQLite has JSON functions) holding a
    // JSON object, so that a corrupt row is GONE to writers as it is absent to readers. CASE
    // guarantees json_type never sees invalid JSON (it would raise an error).
    const valid = checkJson ? ` AND CASE WHEN json_valid(data) THEN json_type(data) = 'object' ELSE 0 END` : ''
    this.#live = `key = ? AND expires_at > ? AND forward_to IS NULL${valid}`
  }

  /** `(key, now)` → the live row's data, created_at, absolute_expires_at. */
  get load(): SqliteStatement {
    return this.#prepare('load', `SELECT data, created_at, absolute_expires_at FROM ${this.#table} WHERE key = ? AND expires_at > ? AND forward_to IS NULL`)
  }

  /** `(key, data)`: drops a row found corrupt, unless it changed since it was read. */
  get dropCorrupt(): SqliteStatement {
    return this.#prepare('dropCorrupt', `DELETE FROM ${this.#table} WHERE key = ? AND data IS ?`)
  }

  /** `(key, data, createdAt, absoluteExpiresAt, expiresAt)`: a plain INSERT, so a taken key fails. */
  get insert(): SqliteStatement {
    return this.#prepare(
      'insert',
      `INSERT INTO ${this.#table} (key, data, created_at, absolute_expires_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
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

  /** `(newKey, markerExpiresAt, oldKey)`: turns a renewed row into a forwarding marker with no data. */
  get mark(): SqliteStatement {
    return this.#prepare('mark', `UPDATE ${this.#table} SET data = '{}', forward_to = ?, expires_at = ? WHERE key = ?`)
  }

  /** `(key, now)`: deletes the row and every row its live forwarding markers lead to. */
  get delete(): SqliteStatement {
    return this.#prepare(
      'delete',
      `WITH RECURSIVE chain(k, hops) AS (
         SELECT ?, 0
         UNION
         SELECT t.forward_to, chain.hops + 1 FROM ${this.#table} AS t JOIN chain ON t.key = chain.k
         WHERE t.forward_to IS NOT NULL AND t.expires_at > ? AND chain.hops < ${MAX_FORWARD_HOPS}
       )
       DELETE FROM ${this.#table} WHERE key IN (SELECT k FROM chain)`,
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

  #prepare(name: string, sql: string): SqliteStatement {
    let statement = this.#fixed.get(name)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      this.#fixed.set(name, statement)
    }
    return statement
  }
}
