import { encodeBase64url, utf8Bytes } from './format.js'

/**
 * A new secret for `keys`: 32 bytes from the platform's CSPRNG, as 43 base64url characters. Store
 * it where your other secrets live (an environment variable, a secret manager), never in code.
 *
 * @example
 * ```ts
 * const secret = generateKey() // e.g. 'k3Jd…' (43 characters)
 * createSessionManager({ store, keys: [secret] })
 * ```
 */
export function generateKey(): string {
  return encodeBase64url(globalThis.crypto.getRandomValues(new Uint8Array(32)))
}

/**
 * The key material of a secret: a string is taken as its UTF-8 bytes (so a key from
 * {@link generateKey} is used as its 43 characters, not decoded), a `Uint8Array` as is. No entropy
 * is guessed: the caller checks the length.
 */
export function keyBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? utf8Bytes(secret) : secret
}
