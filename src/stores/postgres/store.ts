import { createHash } from 'node:crypto'
import { ConfigError, StoreError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import type { RevocationList } from '../../core/revocation.js'
import type { ChangeSet, Missing, RevokeSelection, SessionRecord, SessionStore, UserSessionEntry } from '../../core/store.js'
import { randomId, storageKey } from '../shared/ids.js'
import { missingFrom } from '../shared/markers.js'
import { decodeOwner, ownerValues } from '../shared/owner.js'
import { checkSelection, checkUserId } from '../shared/user-input.js'
import { withConnection } from './call.js'
import type { RunQuery } from './call.js'
import { runMigration } from './migrate.js'
import { postgresRevocationList } from './revocations.js'
import { postgresStatements } from './sql.js'
import type { PostgresStatements } from './sql.js'
import type { PgPool, PgQuery } from './types.js'

/**
 * Options of {@link PostgresStore}.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { pool, table: 'sessions', schema: 'app', timeoutMs: 1000 }
 * ```
 */
export interface PostgresStoreOptions {
  /** A `pg.Pool` (or anything of its shape). The store never ends it. */
  pool: PgPool
  /** The table's name, a plain identifier. Default `'cloakroom_sessions'`. */
  table?: string
  /** The table's schema, a plain identifier; must exist. Default: the connection's `search_path`. */
  schema?: string
  /** Bound on each call, waiting for a pooled connection included. Default 2000 ms. */
  timeoutMs?: number
  /**
   * Prepare the hot statements once per connection (named statements), which saves PostgreSQL
   * parsing and planning them on every call (a load costs about 2.5× less here). Turn it off behind
   * a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
   * Default `true`.
   */
  preparedStatements?: boolean
}

type HotStatement = 'load' | 'create' | 'apply' | 'applyOwner' | 'touch' | 'take' | 'renew' | 'deleteOne'
const HOT: HotStatement[] = ['load', 'create', 'apply', 'applyOwner', 'touch', 'take', 'renew', 'deleteOne']

// A fresh 256-bit id colliding is not expected in practice; a few tries cover a broken RNG or a
// hostile pre-filled table without looping forever.
const CREATE_ATTEMPTS = 5
// delete follows a renew's forwarding marker, and the successor may itself have been renewed; so
// does revokeByUser, for a session renewed while it waited on the row lock.
const MAX_FORWARD_HOPS = 8
const ignore = (): void => {}
const UNIQUE_VIOLATION = '23505'

function isUniqueViolation(error: unknown): boolean {
  const cause = error instanceof StoreError ? error.cause : error
  return (cause as { code?: unknown } | null)?.code === UNIQUE_VIOLATION
}

function checkTtl(op: string, ttlMs: number): void {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new StoreError('encode', `postgres ${op}: ttlMs must be a positive finite number of milliseconds`)
  }
}

function changeParams(changes: ChangeSet): [boolean, string[], string] {
  return [changes.clear, changes.remove, JSON.stringify(changes.set)]
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// Anything unreadable in a row counts as no session: a corrupt record must not turn into a 500.
function decodeRow(row: Record<string, unknown>): SessionRecord | null {
  const { data, created_at: createdAt, absolute_expires_at: absolute } = row
  if (typeof data !== 'string' || typeof createdAt !== 'string') return null
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    return null
  }
  const created = Number(createdAt)
  const absoluteExpiresAt = absolute === null || absolute === undefined ? null : Number(absolute)
  if (!isObject(parsed) || !Number.isFinite(created)) return null
  if (absoluteExpiresAt !== null && !Number.isFinite(absoluteExpiresAt)) return null
  const record: SessionRecord = { data: parsed, createdAt: created, absoluteExpiresAt }
  const owner = decodeOwner(row['user_id'], row['user_handle'], row['last_seen_at'], row['user_info'])
  if (owner !== undefined) record.owner = owner
  return record
}

// A listing row of `userId`; null when its columns cannot be what the store wrote (such a row
// loads as unfiled, so it is not listed either).
function decodeEntry(userId: string, row: Record<string, unknown>): UserSessionEntry | null {
  const owner = decodeOwner(userId, row['user_handle'], row['last_seen_at'], row['user_info'])
  const createdAt = Number(row['created_at'])
  const expiresAt = Number(row['expires_at'])
  if (owner === undefined || !Number.isFinite(createdAt) || !Number.isFinite(expiresAt)) return null
  return { handle: owner.handle, createdAt, lastSeenAt: owner.lastSeenAt, expiresAt, info: owner.info }
}

/**
 * What `apply`, `touch` and `renew` return, from their statement's row: the id when it wrote
 * (`written` 1), otherwise why, from the `forward_to` of the key's unexpired marker (`marker`).
 * No row at all (no unexpired row for the key) is `EXPIRED`.
 */
function answer(id: string, row: Record<string, unknown> | undefined): string | Missing {
  // Number(): an application may have set its own int4 parser on `pg` (to a string or a bigint).
  return Number(row?.['written']) === 1 ? id : missingFrom(row?.['marker'])
}

/**
 * A session store over PostgreSQL through `pg`. One row per session, keyed by the SHA-256 of the
 * id; expiry is judged by the database's `now()`. `apply`, `touch` and `renew` are one statement
 * each, answering why when there is no live record (`GONE`: a purge marker; `RENEWED`: a forwarding
 * marker; `EXPIRED`: neither). `delete` is one transaction leaving a 60 s purge marker on every id it
 * ends. Run {@link PostgresStore.migrate} once at startup (or `schema.sql` with your own
 * migrations) and {@link PostgresStore.deleteExpired} now and then to reclaim space.
 *
 * A session's owner lives in columns of its row, `user_id` indexed: `renew` moves it with the row,
 * `delete` clears it, `listByUser` is one indexed SELECT, `revokeByUser` one transaction (one
 * statement unless it meets a session being renewed). `revocationList()` keeps the cookie store's
 * revocation marks in `<table>_revocations`.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { PostgresStore } from 'cloakroom/postgres'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * pool.on('error', (err) => console.error('idle PostgreSQL connection failed', err))
 * const store = new PostgresStore({ pool })
 * await store.migrate()
 * setInterval(() => void store.deleteExpired().catch(console.error), 10 * 60_000).unref()
 * ```
 */
export class PostgresStore implements SessionStore {
  readonly canInvalidate = true
  readonly #pool: PgPool
  readonly #sql: PostgresStatements
  readonly #timeoutMs: number
  readonly #queries: Record<HotStatement, (values: unknown[]) => PgQuery>

  constructor(options: PostgresStoreOptions) {
    const { pool, table = 'cloakroom_sessions', schema, timeoutMs = 2000, preparedStatements = true } =
      options ?? ({} as PostgresStoreOptions)
    if (pool === null || typeof pool !== 'object' || typeof pool.connect !== 'function') {
      throw new ConfigError('PostgresStore needs `pool`: pass a pg.Pool, e.g. new PostgresStore({ pool: new pg.Pool() })')
    }
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError(`PostgresStore timeoutMs must be a positive number of milliseconds (got ${String(timeoutMs)})`)
    }
    this.#pool = pool
    this.#sql = postgresStatements({ table, schema })
    this.#timeoutMs = timeoutMs
    const queries = {} as Record<HotStatement, (values: unknown[]) => PgQuery>
    for (const statement of HOT) {
      const text = this.#sql[statement]
      // pg keys a connection's prepared statements by name: the name must change with the text
      // (another table, another schema), or pg refuses the second store on the same pool.
      const name = `cloakroom_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`
      queries[statement] = preparedStatements ? (values) => ({ name, text, values }) : (values) => ({ text, values })
    }
    this.#queries = queries
  }

  /**
   * Creates the table, its indexes and the revocation table if missing, and adds the owner columns
   * to a table made by an earlier release (every session is kept), under an advisory lock (parallel
   * calls from several instances are safe). Bounded by `timeoutMs` (default 30 s: DDL can queue
   * behind other work).
   *
   * @example
   * ```ts
   * await new PostgresStore({ pool }).migrate()
   * ```
   */
  async migrate(options: { timeoutMs?: number } = {}): Promise<void> {
    await runMigration(this.#pool, this.#sql, options.timeoutMs ?? 30_000)
  }

  /**
   * The record, or `null` when absent, expired (by the database clock), a renew's forwarding
   * marker, or unreadable.
   */
  async load(id: string): Promise<SessionRecord | null> {
    const result = await this.#run('load', (query) => query(this.#queries.load([storageKey(id)])))
    const row = result.rows[0]
    return row === undefined ? null : decodeRow(row)
  }

  /**
   * Inserts a new record under a fresh id (a plain INSERT: never overwrites; retries on the rare
   * unique violation with another id).
   */
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    checkTtl('create', ttlMs)
    const data = JSON.stringify(record.data)
    const owner = ownerValues(record.owner)
    return this.#run('create', async (query) => {
      for (let attempt = 1; ; attempt++) {
        const id = randomId()
        try {
          await query(this.#queries.create([storageKey(id), data, record.createdAt, record.absoluteExpiresAt, ttlMs, ...owner]))
          return id
        } catch (error) {
          if (attempt >= CREATE_ATTEMPTS || !isUniqueViolation(error)) throw error
        }
      }
    })
  }

  /**
   * Applies the change set to a live record in one UPDATE and moves its expiry to
   * `least(now() + ttl, absolute_expires_at)`. Without a live record: `GONE`, `RENEWED` or `EXPIRED`.
   *
   * @example
   * ```ts
   * await store.apply(id, { clear: false, set: { n: 2 }, remove: [] }, 60_000)
   * ```
   */
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    checkTtl('apply', ttlMs)
    const values = [storageKey(id), ...changeParams(changes), ttlMs]
    // Filing is part of the same UPDATE; a change set without an owner runs the statement unchanged.
    const statement = changes.owner === undefined ? this.#queries.apply(values) : this.#queries.applyOwner([...values, ...ownerValues(changes.owner)])
    const result = await this.#run('apply', (query) => query(statement))
    return answer(id, result.rows[0])
  }

  /**
   * Moves a live record's expiry as `apply` does, data untouched; answers as `apply` does.
   *
   * @example
   * ```ts
   * await store.touch(id, 60_000)
   * ```
   */
  async touch(id: string, ttlMs: number): Promise<string | Missing> {
    checkTtl('touch', ttlMs)
    const result = await this.#run('touch', (query) => query(this.#queries.touch([storageKey(id), ttlMs])))
    return answer(id, result.rows[0])
  }

  /**
   * Removes `key` from the live record's data and returns its value, in one statement that locks
   * the row: of concurrent takes, only one finds the key. `undefined` when absent; the expiry is
   * left alone.
   *
   * @example
   * ```ts
   * const notice = await store.take(id, '~flash:notice')
   * ```
   */
  async take(id: string, key: string): Promise<Json | undefined> {
    const result = await this.#run('take', (query) => query(this.#queries.take([storageKey(id), key])))
    const text = result.rows[0]?.['value']
    if (typeof text !== 'string') return undefined
    try {
      return JSON.parse(text) as Json
    } catch (error) {
      throw new StoreError('decode', 'postgres take read a value that is not JSON', { cause: error })
    }
  }

  /**
   * Moves the record to a new id with the changes applied, keeping `createdAt` and
   * `absoluteExpiresAt`, in one statement; the old row becomes a 60-second forwarding marker that
   * `delete` follows. Without a live record, answers as `apply` does.
   *
   * @example
   * ```ts
   * const newId = await store.renew(id, { clear: false, set: { user: 'ada' }, remove: [] }, 60_000)
   * ```
   */
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    checkTtl('renew', ttlMs)
    const oldKey = storageKey(id)
    const params = [...changeParams(changes), ttlMs, changes.owner !== undefined, ...ownerValues(changes.owner)]
    return this.#run('renew', async (query) => {
      for (let attempt = 1; ; attempt++) {
        const newId = randomId()
        try {
          const result = await query(this.#queries.renew([oldKey, storageKey(newId), ...params]))
          return answer(newId, result.rows[0])
        } catch (error) {
          if (attempt >= CREATE_ATTEMPTS || !isUniqueViolation(error)) throw error
        }
      }
    })
  }

  /**
   * Ends the session: its row, and the successor of a renew within the last 60 s (following up to 8
   * renews; never a forwarding marker past its window), each replaced by a purge marker for 60 s, so
   * a write racing the logout answers `GONE`. An id with no row gets a purge marker too. One
   * transaction: a failure ends nothing, and a retry finds the chain intact. Idempotent.
   *
   * @example
   * ```ts
   * await store.delete(id)
   * ```
   */
  async delete(id: string): Promise<void> {
    await this.#run('delete', async (query) => {
      await query({ text: 'BEGIN' })
      try {
        // Each hop is its own statement on purpose: under READ COMMITTED each one takes a fresh
        // snapshot, which sees a successor that a renew committed while the previous hop waited on
        // the old row's lock.
        let key: unknown = storageKey(id)
        for (let hop = 0; typeof key === 'string' && hop <= MAX_FORWARD_HOPS; hop++) {
          const result = await query(this.#queries.deleteOne([key]))
          key = result.rows[0]?.['forward_to']
        }
        await query({ text: 'COMMIT' })
      } catch (error) {
        // On a timeout or a dead socket the connection is discarded, which rolls back by itself.
        await query({ text: 'ROLLBACK' }).catch(ignore)
        throw error
      }
    })
  }

  /**
   * The live sessions filed under `userId`, newest first: one SELECT on the `user_id` index.
   *
   * @example
   * ```ts
   * const devices = await store.listByUser('u42')
   * ```
   */
  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    checkUserId('postgres listByUser', userId)
    const { rows } = await this.#run('listByUser', (query) => query({ text: this.#sql.listByUser, values: [userId] }))
    // A row whose owner columns cannot be read back is left out: the listing only shows what loads.
    return rows.flatMap((row) => decodeEntry(userId, row) ?? [])
  }

  /**
   * Ends the selected live sessions of `userId` (and only that user's) as `delete` does, each row
   * becoming a purge marker for 60 s, in one transaction; resolves to how many it ended. One
   * statement, plus one more per renew that raced it (a session renewed while the revoke waited on
   * its row lock is followed to its new row, as `delete` follows it).
   *
   * @example
   * ```ts
   * await store.revokeByUser('u42', { except: currentHandle })
   * ```
   */
  async revokeByUser(userId: string, selection: RevokeSelection): Promise<number> {
    checkUserId('postgres revokeByUser', userId)
    const chosen = checkSelection('postgres revokeByUser', selection)
    if ('handles' in chosen && chosen.handles.length === 0) return 0
    const values = 'handles' in chosen ? [userId, chosen.handles, null] : [userId, null, chosen.except]
    return this.#run('revokeByUser', async (query) => {
      await query({ text: 'BEGIN' })
      try {
        let ended = 0
        // Each run is its own statement on purpose: under READ COMMITTED it takes a fresh snapshot,
        // which holds the successor of a forwarding marker the previous run met.
        for (let run = 0; run <= MAX_FORWARD_HOPS; run++) {
          const { rows } = await query({ text: this.#sql.revokeByUser, values })
          ended += Number(rows[0]?.['ended'] ?? 0)
          if (Number(rows[0]?.['forwarded'] ?? 0) === 0) break
        }
        await query({ text: 'COMMIT' })
        return ended
      } catch (error) {
        // On a timeout or a dead socket the connection is discarded, which rolls back by itself.
        await query({ text: 'ROLLBACK' }).catch(ignore)
        throw error
      }
    })
  }

  /**
   * A revocation list in this database (`<table>_revocations`, created by `migrate()`), for the
   * cookie store's revocable sessions. Marks expire by the database's `now()`.
   *
   * @example
   * ```ts
   * const cookies = new CookieStore({ revocations: postgresStore.revocationList() })
   * ```
   */
  revocationList(): RevocationList {
    return postgresRevocationList(this.#sql, (op, fn) => this.#run(op, fn))
  }

  /**
   * Deletes expired rows (stale forwarding and purge markers included) and expired revocation marks
   * in batches of `batchSize`, each batch one statement that skips rows another cleaner has locked,
   * so several instances can run it at once. Each batch is bounded by `timeoutMs`. Returns how many
   * rows were deleted.
   *
   * @example
   * ```ts
   * const removed = await store.deleteExpired({ batchSize: 500 })
   * ```
   */
  async deleteExpired(options: { batchSize?: number } = {}): Promise<number> {
    const { batchSize = 1000 } = options
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new ConfigError(`deleteExpired batchSize must be a positive integer (got ${String(batchSize)})`)
    }
    let total = 0
    for (const text of [this.#sql.deleteExpired, this.#sql.deleteExpiredRevocations]) {
      for (;;) {
        const result = await this.#run('deleteExpired', (query) => query({ text, values: [batchSize] }))
        const deleted = result.rowCount ?? 0
        total += deleted
        if (deleted < batchSize) break
      }
    }
    return total
  }

  #run<T>(op: string, fn: (query: RunQuery) => Promise<T>): Promise<T> {
    return withConnection(this.#pool, this.#timeoutMs, op, fn)
  }
}
