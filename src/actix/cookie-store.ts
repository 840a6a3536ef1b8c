import { applyChanges } from '../core/change-set.js'
import { StoreError } from '../core/errors.js'
import type { Json } from '../core/json.js'
import type { ChangeSet, SessionRecord, SessionStore } from '../core/store.js'
import { decodeState, encodeState } from './state.js'

function encode(data: Record<string, Json>): string {
  try {
    return encodeState(data)
  } catch (error) {
    throw new StoreError('encode', 'session data could not be serialized as JSON', { cause: error })
  }
}

/**
 * The cookie store as actix-session's `CookieSessionStore` works: the "id" is the session state
 * itself (actix-session's 0.11 JSON), which the manager then encrypts or signs as actix-session does.
 * There is no expiry inside (actix-session's cookie store ignores its TTL: the cookie's Max-Age or
 * the browser session bounds it), and nothing to delete.
 *
 * A state that opens but does not parse is read as an empty session whose next write replaces it,
 * as actix-session keeps the key of a state it could not deserialize.
 *
 * @example
 * ```ts
 * const view = new ActixCookieStore()
 * const id = await view.create({ data: { n: 1 }, createdAt: Date.now(), absoluteExpiresAt: null }, 60_000) // '{"n":"1"}'
 * ```
 */
export class ActixCookieStore implements SessionStore {
  readonly canInvalidate = false
  readonly idIsRecord = true

  async load(id: string): Promise<SessionRecord | null> {
    return { data: decodeState(id) ?? {}, createdAt: Date.now(), absoluteExpiresAt: null }
  }

  async create(record: SessionRecord): Promise<string> {
    return encode(record.data)
  }

  async apply(id: string, changes: ChangeSet): Promise<string> {
    return encode(applyChanges(decodeState(id) ?? {}, changes))
  }

  async renew(id: string, changes: ChangeSet): Promise<string> {
    return this.apply(id, changes)
  }

  /** actix-session's `update_ttl` on this store does nothing: the same state goes out again. */
  async touch(id: string): Promise<string> {
    return id
  }

  async delete(): Promise<void> {}
}
