import { applyChanges } from '../core/change-set.js'
import { EXPIRED } from '../core/store.js'
import type { ChangeSet, Missing, RevokeSelection, SessionRecord, SessionStore, UserSessionEntry } from '../core/store.js'

/**
 * Marks an id that came from an actix-session cookie. No id a cloakroom store issues starts with a
 * control character, so the two kinds never meet.
 */
export const ACTIX_ID = '\u0001actix:'

/**
 * The store of `actixSession: { write: false }`: cloakroom's store for cloakroom's sessions, and
 * actix-session's view of it for the ids that came from actix-session cookies. Any write, renew or
 * touch of an actix-session id moves the session: a new cloakroom record with its data (and the
 * request's changes), then the actix-session record deleted, and the new id returned, which the
 * manager seals in cloakroom's format. So each session changes format on its next request, with no
 * logout, and the old cookie stops working where the store can end it (Redis).
 *
 * @example
 * ```ts
 * const store = new TransitionStore(redisStore, actixView, () => null)
 * ```
 */
export class TransitionStore implements SessionStore {
  readonly canInvalidate: boolean
  readonly idIsRecord?: boolean
  readonly listByUser?: (userId: string) => Promise<UserSessionEntry[]>
  readonly revokeByUser?: (userId: string, selection: RevokeSelection) => Promise<number | null>
  readonly #own: SessionStore
  readonly #actix: SessionStore
  readonly #deadline: (now: number) => number | null

  /** `deadline` gives a moved session's absolute expiry from its move, as for any new session. */
  constructor(own: SessionStore, actix: SessionStore, deadline: (now: number) => number | null) {
    this.#own = own
    this.#actix = actix
    this.#deadline = deadline
    this.canInvalidate = own.canInvalidate
    if (own.idIsRecord !== undefined) this.idIsRecord = own.idIsRecord
    if (own.listByUser !== undefined) this.listByUser = own.listByUser.bind(own)
    if (own.revokeByUser !== undefined) this.revokeByUser = own.revokeByUser.bind(own)
  }

  load(id: string): Promise<SessionRecord | null> {
    return id.startsWith(ACTIX_ID) ? this.#actix.load(id.slice(ACTIX_ID.length)) : this.#own.load(id)
  }

  create(record: SessionRecord, ttlMs: number): Promise<string> {
    return this.#own.create(record, ttlMs)
  }

  apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    return id.startsWith(ACTIX_ID) ? this.#move(id, changes, ttlMs) : this.#own.apply(id, changes, ttlMs)
  }

  renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    return id.startsWith(ACTIX_ID) ? this.#move(id, changes, ttlMs) : this.#own.renew(id, changes, ttlMs)
  }

  touch(id: string, ttlMs: number): Promise<string | Missing> {
    return id.startsWith(ACTIX_ID) ? this.#move(id, { clear: false, set: {}, remove: [] }, ttlMs) : this.#own.touch(id, ttlMs)
  }

  delete(id: string): Promise<void> {
    return id.startsWith(ACTIX_ID) ? this.#actix.delete(id.slice(ACTIX_ID.length)) : this.#own.delete(id)
  }

  async #move(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const key = id.slice(ACTIX_ID.length)
    const found = await this.#actix.load(key)
    if (found === null) return EXPIRED
    const now = Date.now()
    const record: SessionRecord = { data: applyChanges(found.data, changes), createdAt: now, absoluteExpiresAt: this.#deadline(now) }
    if (changes.owner) record.owner = changes.owner
    const moved = await this.#own.create(record, ttlMs)
    // After the new record exists: a failure here leaves the old one to expire, never a lost session.
    await this.#actix.delete(key)
    return moved
  }
}
