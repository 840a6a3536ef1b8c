import type { ActixCrypto } from '../actix/types.js'
import type { OpenedCacheLimits } from './opened-cache.js'

/** A value, or a promise of it: the `node:crypto` implementation answers synchronously, WebCrypto cannot. */
export type MaybePromise<T> = T | Promise<T>

/** How a cookie value is protected: encrypted (AES-256-GCM) or signed (HMAC-SHA256, readable by the client). */
export type ContentSecurity = 'private' | 'signed'

/** A cookie value that verified. */
export interface OpenedValue {
  /** The text that was sealed. */
  plaintext: string
  /** True when the value was sealed under a key other than the newest: re-seal it on this response. */
  stale: boolean
}

/**
 * Seals and opens cookie values for one cookie name and one content-security mode, with a
 * keyring whose first key is the newest.
 */
export interface CookieSealer {
  /** Protects `plaintext` under the newest key. */
  seal(plaintext: string): MaybePromise<string>
  /** The plaintext, or `null` when the value is forged, malformed, of an unknown version or key. Never throws. */
  open(value: string): MaybePromise<OpenedValue | null>
}

/** Options of {@link CryptoProvider.createSealer}. */
export interface SealerOptions {
  /** Secrets, newest first, each at least 32 bytes (checked by the caller). */
  keys: readonly Uint8Array[]
  mode: ContentSecurity
  /** Bound into the AEAD's associated data or the MAC: a value cannot move to another cookie. */
  cookieName: string
  /**
   * Bounds of the cache of values that verified before (see `opened-cache.ts`), or `false` for
   * none [10,000 values, 4 Mi characters].
   */
  openedCache?: OpenedCacheLimits | false
}

/**
 * The cryptography the core needs, behind one small interface with two implementations:
 * `node:crypto` (Node, Bun, Deno) and WebCrypto (workerd and other edge runtimes), chosen by the
 * package's `imports` conditions (`#crypto`), never by a runtime check.
 */
export interface CryptoProvider {
  /** Which implementation this is. */
  readonly name: 'node' | 'web'
  /** Derives subkeys and key ids from the secrets. */
  createSealer(options: SealerOptions): MaybePromise<CookieSealer>
  /** actix-session's cookie crypto on the same runtime (the `actixSession` option). */
  readonly actix?: ActixCrypto
}
