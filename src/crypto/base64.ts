/**
 * The base64 codec both cookie formats share (RFC 4648): cloakroom's own base64url and the Rust
 * `cookie` crate's padded standard base64 differ only in their alphabet and the padding around
 * this. Decoding is strict: each byte string has exactly one accepted text (no whitespace, no
 * characters outside the alphabet, zero unused bits in the last character), so a value cannot be
 * altered in ways that leave its bytes, and its MAC, intact.
 */

/** An alphabet of 64 characters and its reverse table. */
export interface Base64Alphabet {
  readonly chars: string
  /** Character code to its value, -1 outside the alphabet (codes 0–127). */
  readonly values: Int8Array
}

/** Builds the {@link Base64Alphabet} of 64 characters. */
export function base64Alphabet(chars: string): Base64Alphabet {
  const values = new Int8Array(128).fill(-1)
  for (let i = 0; i < chars.length; i++) values[chars.charCodeAt(i)] = i
  return { chars, values }
}

/** Encodes bytes without padding. */
export function encodeUnpadded(bytes: Uint8Array, { chars }: Base64Alphabet): string {
  let out = ''
  const n = bytes.length
  const whole = n - (n % 3)
  let i = 0
  for (; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += chars[v >>> 18]! + chars[(v >>> 12) & 63]! + chars[(v >>> 6) & 63]! + chars[v & 63]!
  }
  if (n - whole === 1) {
    const v = bytes[i]!
    out += chars[v >>> 2]! + chars[(v & 3) << 4]!
  } else if (n - whole === 2) {
    const v = (bytes[i]! << 8) | bytes[i + 1]!
    out += chars[v >>> 10]! + chars[(v >>> 4) & 63]! + chars[(v & 15) << 2]!
  }
  return out
}

/**
 * Decodes the first `length` characters of `text` as unpadded base64 in `alphabet`, strictly.
 *
 * @returns the bytes, or `null` when those characters are not the one canonical encoding.
 */
export function decodeUnpadded(text: string, length: number, { values }: Base64Alphabet): Uint8Array | null {
  const rest = length & 3
  if (rest === 1) return null
  const out = new Uint8Array((length >>> 2) * 3 + (rest === 0 ? 0 : rest - 1))
  const whole = length - rest
  let o = 0
  for (let i = 0; i < whole; i += 4) {
    const a = sextet(text, i, values)
    const b = sextet(text, i + 1, values)
    const c = sextet(text, i + 2, values)
    const d = sextet(text, i + 3, values)
    if ((a | b | c | d) < 0) return null
    const v = (a << 18) | (b << 12) | (c << 6) | d
    out[o++] = v >>> 16
    out[o++] = (v >>> 8) & 255
    out[o++] = v & 255
  }
  if (rest === 2) {
    const a = sextet(text, whole, values)
    const b = sextet(text, whole + 1, values)
    if ((a | b) < 0 || (b & 15) !== 0) return null
    out[o] = (a << 2) | (b >>> 4)
  } else if (rest === 3) {
    const a = sextet(text, whole, values)
    const b = sextet(text, whole + 1, values)
    const c = sextet(text, whole + 2, values)
    if ((a | b | c) < 0 || (c & 3) !== 0) return null
    out[o++] = (a << 2) | (b >>> 4)
    out[o] = ((b & 15) << 4) | (c >>> 2)
  }
  return out
}

/** The value of the character at `i`, -1 outside the alphabet. */
function sextet(text: string, i: number, values: Int8Array): number {
  const code = text.charCodeAt(i)
  return code < 128 ? values[code]! : -1
}
