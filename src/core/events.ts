import type { StoreError } from './errors.js'
import type { Logger } from './logger.js'

/** Why a cookie was refused (read as "no session"). */
export type RefusedReason = 'oversized' | 'invalid' | 'unreadable'

/**
 * What cloakroom reports about the sessions it serves, for audit logs, metrics and traces. No event
 * ever carries a session id, a cookie value or key material; `userId` (a filed session's user, see
 * `userKey`) is personal data: treat it as such.
 *
 * @example
 * ```ts
 * createSessionManager({ store, keys, events: { expired: ({ cause }) => metrics.increment(`sessions.expired.${cause}`) } })
 * ```
 */
export interface SessionEventMap {
  /** A new session was stored (a first write, or a fresh session after an expired one). */
  created: { at: number; userId?: string }
  /** A session moved to a new id (`renew()`). */
  renewed: { at: number; userId?: string }
  /** A session was ended by `purge()`. */
  purged: { at: number }
  /** A session's end was observed: its record was gone when a write or touch reached it (`idle`), or it passed the absolute timeout (`absolute`). */
  expired: { at: number; cause: 'idle' | 'absolute' }
  /** A cookie did not open: too long, forged or malformed, or its record unreadable. `fingerprint` tells cookies apart without holding them. */
  refused: { at: number; reason: RefusedReason; fingerprint: string }
  /** A store call failed; the request got the error response, or (with `onStoreError: 'anonymous'`) an empty session. */
  storeError: { at: number; error: StoreError }
  /** An old session (the `migrateFrom` option) was moved into the new session just created: its old record is deleted, its old cookie cleared. */
  migrated: { at: number }
  /** A request's writes were dropped because its session ended meanwhile: purged (the cookie is cleared) or renewed away (the cookie is left alone). */
  conflict: { at: number; cause: 'purged' | 'renewed' }
}

/** The `events` option: a listener per event, each optional. */
export type SessionEvents = { [E in keyof SessionEventMap]?: (event: SessionEventMap[E]) => void }

type Listeners = { [E in keyof SessionEventMap]?: ((event: SessionEventMap[E]) => void)[] }

/**
 * The manager's listeners. Emitting with no listener costs a property read; a listener that throws
 * is logged and never breaks the request.
 */
export class SessionEmitter {
  readonly #listeners: Listeners = {}
  readonly #logger: Logger

  constructor(initial: SessionEvents | undefined, logger: Logger) {
    this.#logger = logger
    for (const name of Object.keys(initial ?? {}) as (keyof SessionEventMap)[]) {
      const listener = initial?.[name]
      if (listener !== undefined) this.on(name, listener as never)
    }
  }

  /** Whether anything listens to `name` (so callers can skip building the event). */
  has(name: keyof SessionEventMap): boolean {
    return this.#listeners[name] !== undefined
  }

  on<E extends keyof SessionEventMap>(name: E, listener: (event: SessionEventMap[E]) => void): () => void {
    const list = (this.#listeners[name] ??= []) as ((event: SessionEventMap[E]) => void)[]
    list.push(listener)
    return () => {
      const at = list.indexOf(listener)
      if (at >= 0) list.splice(at, 1)
      if (list.length === 0) delete this.#listeners[name]
    }
  }

  emit<E extends keyof SessionEventMap>(name: E, event: SessionEventMap[E]): void {
    const list = this.#listeners[name] as ((event: SessionEventMap[E]) => void)[] | undefined
    if (list === undefined) return
    for (const listener of list) {
      try {
        listener(event)
      } catch (error) {
        this.#logger.error(`cloakroom: a '${name}' event listener threw (${String(error)}); the request goes on`)
      }
    }
  }
}
