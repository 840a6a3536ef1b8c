import type { ContentSecurity, CookieSealer, MaybePromise } from '../crypto/types.js'
import type { ActixKeyMode } from './keys.js'

/** Options of {@link ActixCrypto.createSealer}. */
export interface ActixSealerOptions {
  /** Secrets that fit `keyMode`, newest first: the first seals, every one opens. */
  secrets: readonly Uint8Array[]
  keyMode: ActixKeyMode
  mode: ContentSecurity
  /** The cookie's name: the associated data of a private value (a signed value does not cover it). */
  cookieName: string
}

/**
 * The actix-session cookie crypto for one runtime: `node:crypto` or WebCrypto, picked with the rest
 * of the crypto layer. Its sealer's `seal` returns the value as it goes on the wire (protected, then
 * percent-encoded) and its `open` takes the value as it came in (percent-decoded here).
 */
export interface ActixCrypto {
  createSealer(options: ActixSealerOptions): MaybePromise<CookieSealer>
}
