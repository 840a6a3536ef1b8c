import type { Json } from './json.js'

/**
 * What a store keeps for one session. Instants are epoch milliseconds.
 *
 * @example
 * ```ts
 * const record: SessionRecord = { data: { counter: 1 }, createdAt: Date.now(), absoluteExpiresAt: null }
 * ```
 */
export interface SessionRecord {
  /** The session's key/value pairs. */
  data: Record<string, Json>
  /** When the session was first created; renew keeps it. */
  createdAt: number
  /** The hard end of the session's life, whatever its activity; `null` for none. */
  absoluteExpiresAt: number | null
}

/**
 * A request's writes, applied in this order: `clear` first, then `remove`, then `set`.
 * Values in `set` replace whole values (no deep merge).
 *
 * @example
 * ```ts
 * const changes: ChangeSet = { clear: false, set: { counter: 2 }, remove: ['flash'] }
 * ```
 */
export interface ChangeSet {
  clear: boolean
  set: Record<string, Json>
  remove: string[]
}

/**
 * Returned by `apply`, `renew` and `touch` when the record no longer exists (purged, expired or
 * renewed away). The manager then drops the write: a vanished session is never recreated.
 *
 * @example
 * ```ts
 * if ((await store.apply(id, changes, ttl)) === GONE) console.log('session ended meanwhile')
 * ```
 */
export const GONE: unique symbol = Symbol.for('cloakroom.gone')

/** The type of {@link GONE}. */
export type Gone = typeof GONE

/**
 * The contract every store implements. Durations are milliseconds. See the README's
 * "Writing a store" section and run `defineStoreConformance` from `cloakroom/testing` against it.
 *
 * @example
 * ```ts
 * const id = await store.create({ data: { a: 1 }, createdAt: Date.now(), absoluteExpiresAt: null }, 60_000)
 * await store.apply(id, { clear: false, set: { b: 2 }, remove: [] }, 60_000)
 * ```
 */
export interface SessionStore {
  /** Whether `delete` really ends a session (false for the cookie store: a copied cookie lives on until it expires). */
  readonly canInvalidate: boolean
  /** The record, or `null` when absent or expired. Never returns an expired record. */
  load(id: string): Promise<SessionRecord | null>
  /** Stores a new record under a fresh id and returns the id. Never overwrites an existing record. */
  create(record: SessionRecord, ttlMs: number): Promise<string>
  /**
   * Applies the change set atomically to an existing, unexpired record and moves its expiry to
   * `min(now + ttlMs, absoluteExpiresAt)`. Returns the id the cookie must now carry, or `GONE`.
   */
  apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone>
  /**
   * Moves the record to a new id with the change set applied, keeping `createdAt` and
   * `absoluteExpiresAt`, in one atomic step. The old id stops answering at once.
   */
  renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone>
  /** Moves the expiry as `apply` does with no changes. */
  touch(id: string, ttlMs: number): Promise<string | Gone>
  /** Ends the session; idempotent, and follows a renew's forwarding marker for 60 s. */
  delete(id: string): Promise<void>
}
