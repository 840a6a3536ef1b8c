/**
 * Standard base64 (RFC 4648 §4) with padding, as the Rust `cookie` crate writes it around its
 * private and signed values, and a strict decoder that accepts what `cookie` 0.16.2 and later
 * accept (they decode with the `base64` 0.20 crate's standard engine): the `+/` alphabet only, `=`
 * padding required, no whitespace, and zero unused bits in the last character. So each byte string
 * has exactly one accepted text, and no altered text opens a value.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const DECODE = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

/**
 * Encodes bytes as padded standard base64.
 *
 * @example
 * ```ts
 * encodeBase64(new Uint8Array([0xfb, 0xff])) // '+/8='
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let out = ''
  const n = bytes.length
  const whole = n - (n % 3)
  let i = 0
  for (; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + ALPHABET[v & 63]!
  }
  if (n - whole === 1) {
    const v = bytes[i]!
    out += ALPHABET[v >>> 2]! + ALPHABET[(v & 3) << 4]! + '=='
  } else if (n - whole === 2) {
    const v = (bytes[i]! << 8) | bytes[i + 1]!
    out += ALPHABET[v >>> 10]! + ALPHABET[(v >>> 4) & 63]! + ALPHABET[(v & 15) << 2]! + '='
  }
  return out
}

function sextet(text: string, i: number): number {
  const code = text.charCodeAt(i)
  return code < 128 ? DECODE[code]! : -1
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
  if (n === 0) return new Uint8Array(0)
  if ((n & 3) !== 0) return null
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  const out = new Uint8Array((n / 4) * 3 - pad)
  const whole = pad === 0 ? n : n - 4
  let o = 0
  for (let i = 0; i < whole; i += 4) {
    const a = sextet(text, i)
    const b = sextet(text, i + 1)
    const c = sextet(text, i + 2)
    const d = sextet(text, i + 3)
    if ((a | b | c | d) < 0) return null
    const v = (a << 18) | (b << 12) | (c << 6) | d
    out[o++] = v >>> 16
    out[o++] = (v >>> 8) & 255
    out[o++] = v & 255
  }
  if (pad === 2) {
    const a = sextet(text, whole)
    const b = sextet(text, whole + 1)
    if ((a | b) < 0 || (b & 15) !== 0) return null
    out[o] = (a << 2) | (b >>> 4)
  } else if (pad === 1) {
    const a = sextet(text, whole)
    const b = sextet(text, whole + 1)
    const c = sextet(text, whole + 2)
    if ((a | b | c) < 0 || (c & 3) !== 0) return null
    out[o++] = (a << 2) | (b >>> 4)
    out[o] = ((b & 15) << 4) | (c >>> 2)
  }
  return out
}
