import type { SessionStore } from '../core/store.js'

/**
 * The method a store implements to speak actix-session's storage format (CookieStore, RedisStore):
 * it returns a view of itself whose ids are actix-session's session keys and whose records are
 * actix-session's state. The manager asks for it under the `actixSession` option.
 */
export const ACTIX_STORE: unique symbol = Symbol.for('cloakroom.actixStore')

/** What the manager passes to a store's {@link ACTIX_STORE} method. */
export interface ActixStoreOptions {
  /** Prepended to a session key to make the Redis key (actix-session's `cache_keygen`); `''` by default. */
  prefix: string
}

/** A store that can speak actix-session's format. */
export interface ActixCapableStore extends SessionStore {
  [ACTIX_STORE](options: ActixStoreOptions): SessionStore
}

/** Whether `store` can speak actix-session's format. */
export function isActixCapable(store: SessionStore): store is ActixCapableStore {
  return typeof (store as Partial<ActixCapableStore>)[ACTIX_STORE] === 'function'
}
