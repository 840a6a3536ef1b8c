import type { ChangeSql } from './change-sql.js'
import type { SqliteDatabase, SqliteStatement } from './database.js'
import { Lru } from './lru.js'
import { quoteIdentifier } from './schema.js'

/** How many change-set shapes keep a prepared statement; the SQL text varies with the key counts. */
const DYNAMIC_CACHE_SIZE = 64

/** How many renew hops `delete` follows through forwarding markers within their window. */
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
    // A live row: unexpired, not a marker, and (where SQLite has JSON functions) holding a JSON
    // object, so that a corrupt row is missing to writers as it is absent to readers. CASE
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
   * purge marker: no data, `forward_to = ''`, alive until `markerExpiresAt`.
   */
  get purge(): SqliteStatement {
    return this.#prepare(
      'purge',
      `INSERT INTO ${this.#table} (key, data, created_at, absolute_expires_at, expires_at, forward_to) VALUES (?, '{}', 0, NULL, ?, '')
       ON CONFLICT (key) DO UPDATE SET data = '{}', absolute_expires_at = NULL, expires_at = excluded.expires_at, forward_to = ''`,
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
