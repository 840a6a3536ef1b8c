import { pooledRandomBytes } from '../crypto/random.js'

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** Characters of a key actix-session's Redis store mints (`generate_session_key`). */
export const SESSION_KEY_LENGTH = 64
// 248 = 4 × 62: bytes at or above it are dropped, so every character is equally likely.
const LIMIT = 248

/**
 * A session key as actix-session mints one: 64 characters drawn uniformly from `[A-Za-z0-9]` (about
 * 381 bits) with the platform's CSPRNG. Used verbatim as the Redis key (after an optional prefix).
 *
 * @example
 * ```ts
 * generateSessionKey() // e.g. 'q3Jd…' (64 characters)
 * ```
 */
export function generateSessionKey(): string {
  let key = ''
  while (key.length < SESSION_KEY_LENGTH) {
    for (const byte of pooledRandomBytes(SESSION_KEY_LENGTH)) {
      if (byte < LIMIT && key.length < SESSION_KEY_LENGTH) key += ALPHANUMERIC[byte % 62]!
    }
  }
  return key
}
