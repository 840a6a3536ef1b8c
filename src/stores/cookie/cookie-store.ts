import { applyChanges } from '../../core/change-set.js'
import { ConfigError, StoreError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import type { RevocationList } from '../../core/revocation.js'
import { EXPIRED } from '../../core/store.js'
import type { ChangeSet, Expired, RevokeSelection, SessionOwner, SessionRecord, SessionStore } from '../../core/store.js'
import { RevocationCache } from './revocation-cache.js'
import { ActixCookieStore } from '../../actix/cookie-store.js'
import { ACTIX_STORE } from '../../actix/store-hook.js'

/** The record as it travels: `{"v":1,"d":data,"c":createdAt,"a":absoluteExpiresAt,"e":expiresAt,"o"?:owner}`. */
interface Envelope {
  v: 1
  d: Record<string, Json>
  c: number
  a: number | null
  e: number
  o?: SessionOwner
}

const VERSION = 1

/**
 * Options of {@link CookieStore}.
 *
 * @example
 * ```ts
 * const options: CookieStoreOptions = { revocations: redisStore.revocationList(), revocationCacheMs: 5000 }
 * ```
 */
export interface CookieStoreOptions {
  /**
   * The clock the embedded expiry is written and judged by, in epoch milliseconds [`Date.now`];
   * tests pass one they control.
   */
  clock?: () => number
  /**
   * Where revocation marks are kept, so that stateless sessions can be revoked ("sign out
   * everywhere"): any server store's `revocationList()`, or your own get/set. Default: none
   * (sessions cannot be revoked before they expire).
   */
  revocations?: RevocationList
  /**
   * How long this process trusts a mark it read, in milliseconds [5000]: a revocation made in
   * another process takes effect here within this time (in the revoking process, at once).
   */
  revocationCacheMs?: number
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// The value comes from a cookie: whatever it holds, the answer is an envelope or undefined, never a throw.
function decode(id: string): Envelope | undefined {
  let parsed: unknown
  try {
    // JSON.parse defines '__proto__' as an own key, so a hostile payload cannot reach a prototype.
    parsed = JSON.parse(id)
  } catch {
    return undefined
  }
  if (!isObject(parsed) || parsed['v'] !== VERSION) return undefined
  const { d, c, a, e, o } = parsed
  if (!isObject(d) || !Number.isFinite(c) || !Number.isFinite(e)) return undefined
  if (a !== null && !Number.isFinite(a)) return undefined
  const envelope: Envelope = { v: VERSION, d: d as Record<string, Json>, c: c as number, a: a as number | null, e: e as number }
  if (o !== undefined) {
    if (!isOwner(o)) return undefined
    envelope.o = o
  }
  return envelope
}

function isOwner(value: unknown): value is SessionOwner {
  if (!isObject(value)) return false
  const { userId, handle, lastSeenAt, info } = value
  return (
    typeof userId === 'string' &&
    typeof handle === 'string' &&
    Number.isFinite(lastSeenAt) &&
    isObject(info) &&
    Object.values(info).every((field) => typeof field === 'string')
  )
}

function encode(data: Record<string, Json>, createdAt: number, absoluteExpiresAt: number | null, expiresAt: number, owner: SessionOwner | undefined): string {
  const envelope: Envelope = {
    v: VERSION,
    d: data,
    c: createdAt,
    a: absoluteExpiresAt,
    e: expiresAt,
  }
  if (owner !== undefined) envelope.o = owner
  try {
    return JSON.stringify(envelope)
  } catch (error) {
    // Only a value JSON cannot write (a cycle, BigInt, or nesting deeper than the stack) gets here.
    throw new StoreError('encode', 'session data could not be serialized as JSON', { cause: error })
  }
}

function expiryOf(now: number, ttlMs: number, absoluteExpiresAt: number | null): number {
  const idle = now + ttlMs
  return absoluteExpiresAt === null ? idle : Math.min(idle, absoluteExpiresAt)
}

/**
 * The stateless store: the whole record travels in the cookie. The "id" it returns is the record
 * serialized as JSON, with its expiry embedded (`e = min(now + ttl, absoluteExpiresAt)`); the
 * session manager seals or signs whatever id a store returns, so this store holds no keys and does
 * no crypto. The embedded expiry means a copied cookie dies on time, read against `Date.now()` (or
 * the `clock` option's function).
 *
 * It cannot invalidate (`canInvalidate` is false): `delete` does nothing, and a copy of an old
 * cookie replayed after logout or renew still loads until its embedded expiry. Keep the TTL and
 * `absoluteTimeout` short, or use a server store when logout must be final. Size is limited by
 * the manager (the whole `Set-Cookie` line to 4096 bytes), not here.
 *
 * @example
 * ```ts
 * import { createSessionManager, CookieStore } from 'cloakroom'
 * const manager = createSessionManager({ store: new CookieStore(), keys: [process.env.SESSION_KEY!] })
 * ```
 */
export class CookieStore implements SessionStore {
  /** `false`: the record lives in the client's cookie, out of the server's reach. */
  readonly canInvalidate = false
  /** `true`: the "id" is the serialized record, expiry included, so every write gives a new one. */
  readonly idIsRecord = true
  /**
   * Present when the store has a revocation list: ends all of a user's sessions, or all but one,
   * with a mark ("created before now"); it cannot end one session by handle, nor count them.
   */
  readonly revokeByUser?: (userId: string, selection: RevokeSelection) => Promise<number | null>
  readonly #clock: () => number
  readonly #revocations: RevocationCache | undefined

  constructor(options: CookieStoreOptions = {}) {
    const { clock, revocations, revocationCacheMs = 5000 } = options
    if (clock !== undefined && typeof clock !== 'function') {
      throw new ConfigError('CookieStore clock must be a function returning epoch milliseconds; pass e.g. clock: () => Date.now()')
    }
    this.#clock = clock ?? (() => Date.now())
    if (revocations !== undefined && (typeof revocations.get !== 'function' || typeof revocations.set !== 'function')) {
      throw new ConfigError('CookieStore revocations must be a revocation list with get and set, e.g. revocations: redisStore.revocationList()')
    }
    if (!Number.isSafeInteger(revocationCacheMs) || revocationCacheMs < 0) {
      throw new ConfigError(`CookieStore revocationCacheMs must be a whole number of milliseconds, 0 or more (got ${String(revocationCacheMs)})`)
    }
    if (revocations === undefined) return
    const cache = new RevocationCache(revocations, revocationCacheMs)
    this.#revocations = cache
    this.revokeByUser = async (userId, selection) => {
      if ('handles' in selection) {
        throw new ConfigError(
          "the cookie store cannot end one session by handle (it cannot list them); revoke all of a user's sessions, or all but the current one",
        )
      }
      const before = this.#clock()
      await cache.set(userId, selection.except === undefined ? { before } : { before, except: selection.except })
      return null
    }
  }

  /**
   * Parses the value; `null` when it is malformed, of another version, or past its embedded expiry.
   */
  async load(id: string): Promise<SessionRecord | null> {
    const envelope = this.#live(id)
    if (envelope === undefined) return null
    if (this.#revocations !== undefined && (await this.#revocations.revoked(envelope.o?.userId, envelope.c, envelope.o?.handle))) return null
    const record: SessionRecord = { data: envelope.d, createdAt: envelope.c, absoluteExpiresAt: envelope.a }
    if (envelope.o !== undefined) record.owner = envelope.o
    return record
  }

  /**
   * Serializes the record with its expiry; the result is the cookie's (unsealed) value.
   */
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    return this.#encode(record.data, record.createdAt, record.absoluteExpiresAt, ttlMs, record.owner)
  }

  /**
   * Applies the change set and returns the new value with a moved expiry; `EXPIRED` when the value
   * is malformed or expired (a stateless store can never know of a purge or a renew).
   */
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Expired> {
    const envelope = this.#live(id)
    if (envelope === undefined) return EXPIRED
    const owner = changes.owner === undefined ? envelope.o : (changes.owner ?? undefined)
    return this.#encode(applyChanges(envelope.d, changes), envelope.c, envelope.a, ttlMs, owner)
  }

  /**
   * The same as `apply`: `createdAt` and `absoluteExpiresAt` are kept, and the manager's fresh seal
   * makes the new cookie differ from the old one. The old value is not revoked.
   */
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Expired> {
    return this.apply(id, changes, ttlMs)
  }

  /**
   * Returns the value with a moved expiry; `EXPIRED` when malformed or expired.
   */
  async touch(id: string, ttlMs: number): Promise<string | Expired> {
    const envelope = this.#live(id)
    if (envelope === undefined) return EXPIRED
    return this.#encode(envelope.d, envelope.c, envelope.a, ttlMs, envelope.o)
  }

  /**
   * Does nothing: the server holds nothing to delete. The manager's removal cookie is what ends
   * the session in the browser.
   */
  async delete(_id: string): Promise<void> {}

  /** actix-session's `CookieSessionStore` format, for the manager's `actixSession` option. */
  [ACTIX_STORE](): SessionStore {
    return new ActixCookieStore()
  }

  #live(id: string): Envelope | undefined {
    const envelope = decode(id)
    return envelope !== undefined && envelope.e > this.#clock() ? envelope : undefined
  }

  #encode(data: Record<string, Json>, createdAt: number, absoluteExpiresAt: number | null, ttlMs: number, owner: SessionOwner | undefined): string {
    return encode(data, createdAt, absoluteExpiresAt, expiryOf(this.#clock(), ttlMs, absoluteExpiresAt), owner)
  }
}
