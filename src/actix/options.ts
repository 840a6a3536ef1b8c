import { ConfigError } from '../core/errors.js'
import type { SessionStore } from '../core/store.js'
import { fitsActix, KEY_BYTES, MASTER_BYTES, type ActixKeyMode } from './keys.js'
import { isActixCapable } from './store-hook.js'

/**
 * The `actixSession` option: read and write sessions exactly as actix-session 0.10/0.11 (actix-web 4,
 * `cookie` 0.16) does, for the cookie store and the Redis store. See docs/actix-session.md.
 *
 * @example
 * ```ts
 * // Share sessions with an actix-web service whose key is Key::from(&bytes):
 * createSessionManager({ store: new RedisStore({ client }), keys: [Buffer.from(process.env.ACTIX_KEY!, 'hex')], actixSession: { key: 'raw' } })
 * // Move off actix-web: read its cookies, write cloakroom's own (no logout):
 * createSessionManager({ store, keys: [process.env.SESSION_KEY!, actixKeyBytes], actixSession: { key: 'raw', write: false } })
 * ```
 */
export interface ActixSessionOptions {
  /**
   * How actix-web made its `cookie::Key` from the secret: `'raw'` for `Key::from(bytes)` (64 bytes or
   * more, the first 64 used), `'derive'` for `Key::derive_from(master)` (32 bytes or more).
   */
  key: ActixKeyMode
  /**
   * `false`: read actix-session's cookies (and records) but write cloakroom's own, moving each
   * session to cloakroom's format on its next request. Default: write actix-session's format.
   */
  write?: boolean
  /**
   * RedisStore only: what actix-session's `cache_keygen` prepends to the session key to make the
   * Redis key (e.g. `'session:'`). Default `''`, actix-session's default (the bare key).
   */
  prefix?: string
}

/** The `actixSession` option once checked. */
export interface ResolvedActix {
  keyMode: ActixKeyMode
  /** Whether cloakroom writes actix-session's format (false: it only reads it). */
  write: boolean
  prefix: string
  /** The secrets of `keys` that make a `cookie::Key` under `keyMode`, in order; the first (keys[0]) seals when `write`. */
  secrets: Uint8Array[]
}

const KNOWN = new Set(['key', 'write', 'prefix'])

/** What of the other options the check needs. */
export interface ActixContext {
  store: SessionStore
  keys: Uint8Array[]
  userKey: string | undefined
  absoluteTimeout: number | null | undefined
}

function minimum(mode: ActixKeyMode): string {
  return mode === 'raw'
    ? `at least ${KEY_BYTES} bytes (Key::from takes the first 64); pass actix-web's key bytes as a Uint8Array, e.g. Buffer.from(hex, 'hex')`
    : `at least ${MASTER_BYTES} bytes (Key::derive_from's master key); pass it as a Uint8Array if it is not text`
}

/**
 * Checks the `actixSession` option against the rest; `undefined` when it is not set. Throws a
 * `ConfigError` naming the fix.
 */
export function resolveActix(given: unknown, context: ActixContext): ResolvedActix | undefined {
  if (given === undefined) return undefined
  if (given === null || typeof given !== 'object' || Array.isArray(given)) throw new ConfigError("actixSession must be an object, e.g. { key: 'raw' } or { key: 'derive' }")
  for (const name of Object.keys(given)) {
    if (!KNOWN.has(name)) throw new ConfigError(`unknown option actixSession.${name}; the options are key, write, prefix`)
  }
  const { key, write = true, prefix } = given as ActixSessionOptions
  if (key !== 'raw' && key !== 'derive') {
    throw new ConfigError(`actixSession.key must be 'raw' (actix-web's Key::from) or 'derive' (Key::derive_from); got ${JSON.stringify(key)}`)
  }
  if (typeof write !== 'boolean') throw new ConfigError('actixSession.write must be true or false')
  const { store } = context
  if (!isActixCapable(store)) {
    throw new ConfigError(`actixSession works with CookieStore and RedisStore only, the stores actix-session has too; this store (${store.constructor?.name ?? 'unknown'}) cannot read or write actix-session's format`)
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || store.idIsRecord === true)) {
    throw new ConfigError("actixSession.prefix is the Redis key prefix (actix-session's cache_keygen): a string, with RedisStore only")
  }
  const secrets = context.keys.filter((secret) => fitsActix(secret, key))
  if (write) {
    if (!fitsActix(context.keys[0]!, key)) throw new ConfigError(`actixSession { key: '${key}' } seals with keys[0], which is ${context.keys[0]!.length} bytes; it needs ${minimum(key)}`)
    if (context.userKey !== undefined) {
      throw new ConfigError("userKey cannot apply to actix-session's format, which has no place for a session's owner; drop userKey, or use actixSession: { key, write: false } while moving to cloakroom's format")
    }
    if (context.absoluteTimeout !== undefined && context.absoluteTimeout !== null) {
      throw new ConfigError("absoluteTimeout cannot apply to actix-session's format, which records no creation time; set absoluteTimeout: null (or leave it out) with actixSession")
    }
    if (store.idIsRecord === true && store.revokeByUser !== undefined) {
      throw new ConfigError("a CookieStore revocation list cannot apply to actix-session's cookies, which carry no owner nor creation time; drop the store's revocations option")
    }
  } else if (secrets.length === 0) {
    throw new ConfigError(`actixSession { key: '${key}', write: false } reads actix-session's cookies with the keys that can be its key, but none of keys is ${minimum(key)}; add actix-web's key to keys`)
  }
  return { keyMode: key, write, prefix: prefix ?? '', secrets }
}
