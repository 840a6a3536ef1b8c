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
  /** Who the session belongs to, when the app files sessions by user (`userKey`); absent otherwise. */
  owner?: SessionOwner
}

/**
 * The user a session is filed under, kept with its record. Renew keeps it, handle included.
 *
 * @example
 * ```ts
 * const owner: SessionOwner = { userId: 'u42', handle: 'q3J…', lastSeenAt: Date.now(), info: { userAgent: 'Firefox' } }
 * ```
 */
export interface SessionOwner {
  /** The user id: the value the session data holds at the manager's `userKey`. */
  userId: string
  /** The session's revocation handle: random, never the session id nor derivable into one. */
  handle: string
  /** When the session was last seen in use (epoch ms), refreshed at most once per `lastSeenInterval`. */
  lastSeenAt: number
  /** What the manager's `describe` option recorded at filing (for example the user agent); `{}` if nothing. */
  info: Record<string, string>
}

/**
 * One live session in its user's listing, as a store returns it.
 *
 * @example
 * ```ts
 * for (const s of await store.listByUser!('u42')) console.log(s.handle, new Date(s.lastSeenAt))
 * ```
 */
export interface UserSessionEntry {
  handle: string
  createdAt: number
  lastSeenAt: number
  /** When the session ends if it stays idle (its idle expiry, capped by its absolute one). */
  expiresAt: number
  info: Record<string, string>
}

/**
 * Which of a user's sessions to revoke: those with these handles, or every one but `except`.
 *
 * @example
 * ```ts
 * const others: RevokeSelection = { except: currentHandle }
 * ```
 */
export type RevokeSelection = { readonly handles: readonly string[] } | { readonly except?: string }

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
  /**
   * The session's owner after this write: a {@link SessionOwner} files (or refreshes) it, `null`
   * unfiles it, absent leaves it as it is. Only the manager sets it, and only with `userKey`.
   */
  owner?: SessionOwner | null
}

/**
 * Returned by `apply`, `renew` and `touch` when the record was **ended by `delete` moments ago** (a
 * logout, within the 60 s window its marker lives). The manager drops the write and clears the
 * cookie: purge wins every race. A store that cannot tell why a record is missing may return
 * `GONE` for every case; that is safe, but then a write to an expired session is dropped instead
 * of starting a fresh one (see {@link EXPIRED}).
 *
 * @example
 * ```ts
 * if ((await store.apply(id, changes, ttl)) === GONE) console.log('logged out meanwhile')
 * ```
 */
export const GONE: unique symbol = Symbol.for('cloakroom.gone')

/** The type of {@link GONE}. */
export type Gone = typeof GONE

/**
 * Returned by `apply`, `renew` and `touch` when there is **no record and no marker** for the id: it
 * expired, was evicted, was lost with a flushed or restarted backend, or never existed. The manager
 * then starts a fresh session (a new id and a new `createdAt`) holding the request's changes, so a
 * login or an "add to cart" after a long pause works on the first try.
 *
 * @example
 * ```ts
 * if ((await store.touch(id, ttl)) === EXPIRED) console.log('idle too long')
 * ```
 */
export const EXPIRED: unique symbol = Symbol.for('cloakroom.expired')

/** The type of {@link EXPIRED}. */
export type Expired = typeof EXPIRED

/**
 * Returned by `apply`, `renew` and `touch` when the id was **renewed away** moments ago (its
 * forwarding marker exists). The manager drops the write and leaves the cookie alone: the browser
 * already holds, or is about to receive, the new id, and clearing or replacing the cookie would log
 * the user out right after logging in.
 *
 * @example
 * ```ts
 * if ((await store.apply(id, changes, ttl)) === RENEWED) console.log('a newer id took over')
 * ```
 */
export const RENEWED: unique symbol = Symbol.for('cloakroom.renewed')

/** The type of {@link RENEWED}. */
export type Renewed = typeof RENEWED

/**
 * Why a write found no record: {@link GONE} (deleted moments ago), {@link RENEWED} (renewed away
 * moments ago) or {@link EXPIRED} (expired, evicted or never existed).
 *
 * @example
 * ```ts
 * const result: string | Missing = await store.apply(id, changes, ttl)
 * ```
 */
export type Missing = Gone | Renewed | Expired

/** How long the markers left by `renew` (forwarding) and `delete` (purge) answer, in milliseconds. */
export const MARKER_WINDOW_MS = 60_000

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
  /**
   * Whether the id a write returns is the record itself, expiry included (the cookie store): the
   * manager then seals it on every write and touch, even when it reads the same as before. Absent
   * or `false` for a store whose ids only name records.
   */
  readonly idIsRecord?: boolean
  /** The record, or `null` when absent or expired. Never returns an expired record. */
  load(id: string): Promise<SessionRecord | null>
  /** Stores a new record under a fresh id and returns the id. Never overwrites an existing record. */
  create(record: SessionRecord, ttlMs: number): Promise<string>
  /**
   * Applies the change set atomically to an existing, unexpired record and moves its expiry to
   * `min(now + ttlMs, absoluteExpiresAt)`. Returns the id the cookie must now carry or, when there
   * is no live record, why: `GONE` (a purge marker), `RENEWED` (a forwarding marker) or `EXPIRED`
   * (neither). Never creates a record.
   */
  apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing>
  /**
   * Moves the record to a new id with the change set applied, keeping `createdAt` and
   * `absoluteExpiresAt`, in one atomic step. The old id stops answering at once and keeps a
   * forwarding marker to the new one for {@link MARKER_WINDOW_MS}. Without a live record, answers
   * as `apply` does.
   */
  renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing>
  /** Moves the expiry as `apply` does with no changes, and answers as `apply` does. */
  touch(id: string, ttlMs: number): Promise<string | Missing>
  /**
   * Ends the session; idempotent. Follows a renew's forwarding markers that are still within their
   * window (never an older one), and leaves a purge marker on every id it ended, so that a write
   * racing the logout is answered `GONE` for {@link MARKER_WINDOW_MS}.
   */
  delete(id: string): Promise<void>
  /**
   * Removes `key` from the live record's data and resolves to the value it held, in one atomic step:
   * of concurrent takes of one key, exactly one resolves to the value. `undefined` when the record
   * holds no such key, or there is no live record (expired, deleted, renewed away). Leaves the
   * expiry alone. Flash messages use it (`session.takeFlash`), so that a flash is delivered once
   * however requests race. Optional: without it (the cookie store, which keeps no server state), a
   * taken flash is removed by the request's commit, and two requests racing may both read it.
   *
   * @example
   * ```ts
   * const notice = await store.take!(id, '~flash:notice') // 'Saved', then undefined
   * ```
   */
  take?(id: string, key: string): Promise<Json | undefined>
  /**
   * The live sessions filed under `userId` (records whose `owner.userId` is it), newest first. The
   * records are the truth: a listing never shows a session that no longer loads, and a store with a
   * separate index drops the stale entries it meets. Stores that cannot list (the cookie store) omit it.
   */
  listByUser?(userId: string): Promise<UserSessionEntry[]>
  /**
   * Ends the selected sessions of `userId` as `delete` does (purge markers included), and only
   * sessions of that user; returns how many it ended, or `null` when it cannot count them (the
   * cookie store revokes through a revocation mark instead).
   */
  revokeByUser?(userId: string, selection: RevokeSelection): Promise<number | null>
}
