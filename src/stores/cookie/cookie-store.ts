import { applyChanges } from '../../core/change-set.js'
import { ConfigError, StoreError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import { EXPIRED } from '../../core/store.js'
import type { ChangeSet, Expired, SessionRecord, SessionStore } from '../../core/store.js'

/** The record as it travels: `{"v":1,"d":data,"c":createdAt,"a":absoluteExpiresAt,"e":expiresAt}`. */
interface Envelope {
  v: 1
  d: Record<string, Json>
  c: number
  a: number | null
  e: number
}

const VERSION = 1

/**
 * Options of {@link CookieStore}.
 *
 * @example
 * ```ts
 * let now = Date.now()
 * const options: CookieStoreOptions = { clock: () => now } // a test moves `now` to expire cookies
 * ```
 */
export interface CookieStoreOptions {
  /**
   * The clock the embedded expiry is written and judged by, in epoch milliseconds [`Date.now`];
   * tests pass one they control.
   */
  clock?: () => number
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
  const { d, c, a, e } = parsed
  if (!isObject(d) || !Number.isFinite(c) || !Number.isFinite(e)) return undefined
  if (a !== null && !Number.isFinite(a)) return undefined
  return { v: VERSION, d: d as Record<string, Json>, c: c as number, a: a as number | null, e: e as number }
}

function encode(data: Record<string, Json>, createdAt: number, absoluteExpiresAt: number | null, expiresAt: number): string {
  const envelope: Envelope = {
    v: VERSION,
    d: data,
    c: createdAt,
    a: absoluteExpiresAt,
    e: expiresAt,
  }
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

  readonly #clock: () => number

  constructor(options: CookieStoreOptions = {}) {
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new ConfigError('CookieStore clock must be a function returning epoch milliseconds; pass e.g. clock: () => Date.now()')
    }
    this.#clock = options.clock ?? (() => Date.now())
  }

  /**
   * Parses the value; `null` when it is malformed, of another version, or past its embedded expiry.
   *
   * @example
   * ```ts
   * const record = await store.load(unsealedCookieValue)
   * ```
   */
  async load(id: string): Promise<SessionRecord | null> {
    const envelope = this.#live(id)
    return envelope === undefined ? null : { data: envelope.d, createdAt: envelope.c, absoluteExpiresAt: envelope.a }
  }

  /**
   * Serializes the record with its expiry; the result is the cookie's (unsealed) value.
   *
   * @example
   * ```ts
   * const value = await store.create({ data: { counter: 1 }, createdAt: Date.now(), absoluteExpiresAt: null }, 86_400_000)
   * ```
   */
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    return this.#encode(record.data, record.createdAt, record.absoluteExpiresAt, ttlMs)
  }

  /**
   * Applies the change set and returns the new value with a moved expiry; `EXPIRED` when the value
   * is malformed or expired (a stateless store can never know of a purge or a renew).
   *
   * @example
   * ```ts
   * const value = await store.apply(previous, { clear: false, set: { counter: 2 }, remove: [] }, 86_400_000)
   * ```
   */
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Expired> {
    const envelope = this.#live(id)
    if (envelope === undefined) return EXPIRED
    return this.#encode(applyChanges(envelope.d, changes), envelope.c, envelope.a, ttlMs)
  }

  /**
   * The same as `apply`: `createdAt` and `absoluteExpiresAt` are kept, and the manager's fresh seal
   * makes the new cookie differ from the old one. The old value is not revoked.
   *
   * @example
   * ```ts
   * const value = await store.renew(previous, { clear: false, set: { user: 'ferris' }, remove: [] }, 86_400_000)
   * ```
   */
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Expired> {
    return this.apply(id, changes, ttlMs)
  }

  /**
   * Returns the value with a moved expiry; `EXPIRED` when malformed or expired.
   *
   * @example
   * ```ts
   * const value = await store.touch(previous, 86_400_000)
   * ```
   */
  async touch(id: string, ttlMs: number): Promise<string | Expired> {
    const envelope = this.#live(id)
    if (envelope === undefined) return EXPIRED
    return this.#encode(envelope.d, envelope.c, envelope.a, ttlMs)
  }

  /**
   * Does nothing: the server holds nothing to delete. The manager's removal cookie is what ends
   * the session in the browser.
   *
   * @example
   * ```ts
   * await store.delete(value) // resolves; a copy of `value` still loads until it expires
   * ```
   */
  async delete(_id: string): Promise<void> {}

  #live(id: string): Envelope | undefined {
    const envelope = decode(id)
    return envelope !== undefined && envelope.e > this.#clock() ? envelope : undefined
  }

  #encode(data: Record<string, Json>, createdAt: number, absoluteExpiresAt: number | null, ttlMs: number): string {
    return encode(data, createdAt, absoluteExpiresAt, expiryOf(this.#clock(), ttlMs, absoluteExpiresAt))
  }
}
