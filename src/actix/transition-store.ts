import { applyChanges } from '../core/change-set.js'
import { EXPIRED } from '../core/store.js'
import type { ChangeSet, Missing, RevokeSelection, SessionRecord, SessionStore, UserSessionEntry } from '../core/store.js'

/**
 * Marks an id that came from an actix-session cookie while cloakroom writes its own format
 * (`write: false`). No id a store issues starts with a control character, so the kinds never meet.
 */
export const ACTIX_ID = '\u0001actix:'
/** Marks an id that came from a cloakroom cookie while cloakroom writes actix-session's format. */
export const CLOAKROOM_ID = '\u0001cloakroom:'

/**
 * The store of a move between formats: the format written (`own`) for its sessions, and the other
 * format (`foreign`) for the ids marked `mark` (those the manager opened from the other format's
 * cookies). Any write, renew or touch of a marked id moves the session: a new record in the written
 * format with its data (and the request's changes), then the old record deleted, and the new id
 * returned, which the manager seals in the written format. So each session changes format on its
 * next request, with no logout, and the old cookie stops working where the store can end it (Redis).
 *
 * With `actixSession: { write: false }` cloakroom's format is written and actix-session's read;
 * with `actixSession: { key }` the other way round.
 *
 * @example
 * ```ts
 * const store = new TransitionStore(redisStore, actixView, ACTIX_ID, () => null)
 * ```
 */
export class TransitionStore implements SessionStore {
  readonly canInvalidate: boolean
  readonly idIsRecord?: boolean
  readonly listByUser?: (userId: string) => Promise<UserSessionEntry[]>
  readonly revokeByUser?: (userId: string, selection: RevokeSelection) => Promise<number | null>
  readonly #own: SessionStore
  readonly #foreign: SessionStore
  readonly #mark: string
  readonly #deadline: (now: number) => number | null

  /** `deadline` gives a moved session's absolute expiry from its move, as for any new session. */
  constructor(own: SessionStore, foreign: SessionStore, mark: string, deadline: (now: number) => number | null) {
    this.#own = own
    this.#foreign = foreign
    this.#mark = mark
    this.#deadline = deadline
    this.canInvalidate = own.canInvalidate
    if (own.idIsRecord !== undefined) this.idIsRecord = own.idIsRecord
    if (own.listByUser !== undefined) this.listByUser = own.listByUser.bind(own)
    if (own.revokeByUser !== undefined) this.revokeByUser = own.revokeByUser.bind(own)
  }

  load(id: string): Promise<SessionRecord | null> {
    return id.startsWith(this.#mark) ? this.#foreign.load(id.slice(this.#mark.length)) : this.#own.load(id)
  }

  create(record: SessionRecord, ttlMs: number): Promise<string> {
    return this.#own.create(record, ttlMs)
  }

  apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    return id.startsWith(this.#mark) ? this.#move(id, changes, ttlMs) : this.#own.apply(id, changes, ttlMs)
  }

  renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    return id.startsWith(this.#mark) ? this.#move(id, changes, ttlMs) : this.#own.renew(id, changes, ttlMs)
  }

  touch(id: string, ttlMs: number): Promise<string | Missing> {
    return id.startsWith(this.#mark) ? this.#move(id, { clear: false, set: {}, remove: [] }, ttlMs) : this.#own.touch(id, ttlMs)
  }

  delete(id: string): Promise<void> {
    return id.startsWith(this.#mark) ? this.#foreign.delete(id.slice(this.#mark.length)) : this.#own.delete(id)
  }

  async #move(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const key = id.slice(this.#mark.length)
    const found = await this.#foreign.load(key)
    if (found === null) return EXPIRED
    const now = Date.now()
    const record: SessionRecord = { data: applyChanges(found.data, changes), createdAt: now, absoluteExpiresAt: this.#deadline(now) }
    if (changes.owner) record.owner = changes.owner
    const moved = await this.#own.create(record, ttlMs)
    // After the new record exists: a failure here leaves the old one to expire, never a lost session.
    await this.#foreign.delete(key)
    return moved
  }
}
