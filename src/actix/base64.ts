/**
 * Standard base64 (RFC 4648 §4) with padding, as the Rust `cookie` crate writes it around its
 * private and signed values, and a strict decoder that accepts what `cookie` 0.16.2 and later
 * accept (they decode with the `base64` 0.20 crate's standard engine): the `+/` alphabet only, `=`
 * padding required, no whitespace, and zero unused bits in the last character. So each byte string
 * has exactly one accepted text, and no altered text opens a value.
 */

import { base64Alphabet, decodeUnpadded, encodeUnpadded } from '../crypto/base64.js'

const STANDARD = base64Alphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')

/**
 * Encodes bytes as padded standard base64.
 *
 * @example
 * ```ts
 * encodeBase64(new Uint8Array([0xfb, 0xff])) // '+/8='
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  const text = encodeUnpadded(bytes, STANDARD)
  return text + '=='.slice(0, (4 - (text.length & 3)) & 3)
}

/**
 * Decodes padded standard base64 strictly; `null` for anything else (missing or extra padding, the
 * base64url alphabet, whitespace, non-zero trailing bits).
 *
 * @example
 * ```ts
 * decodeBase64('+/8=') // Uint8Array [251, 255]
 * decodeBase64('-_8=') // null: base64url alphabet
 * decodeBase64('+/8')  // null: padding missing
 * ```
 */
export function decodeBase64(text: string): Uint8Array | null {
  const n = text.length
  if ((n & 3) !== 0) return null
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  // What precedes the padding is unpadded base64 of the same bytes; an '=' inside it is refused there.
  return decodeUnpadded(text, n - pad, STANDARD)
}
