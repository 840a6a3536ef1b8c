import { base64Alphabet, decodeUnpadded, encodeUnpadded } from './base64.js'
/**
 * The cookie wire format (version 1), shared by the `node:crypto` and WebCrypto implementations:
 * strict base64url, length-prefixed associated data, and parsing a value into its parts. Pure
 * functions over `Uint8Array`, no `Buffer`, so it runs on every runtime.
 *
 * private: `e1.<kid>.<b64url(nonce12 ‖ ciphertext ‖ tag16)>`
 * signed:  `s1.<kid>.<b64url(plaintext)>.<b64url(mac32)>`
 */

/**
 * Version tag of an encrypted (AES-256-GCM) value. The tag maps to exactly one suite: a value never
 * picks its own algorithm, so there is nothing to downgrade.
 */
export const PRIVATE_VERSION = 'e1'

/**
 * Version tag of a signed (HMAC-SHA256) value.
 */
export const SIGNED_VERSION = 's1'

/**
 * Values longer than this are refused before any decoding or cryptography: browsers keep about
 * 4 KiB per cookie, so anything longer is not ours, and refusing it early bounds the work an
 * attacker can ask for.
 */
export const MAX_SEALED_LENGTH = 8192

/**
 * Bytes of a key id, derived from the secret through HKDF; written as {@link KID_LENGTH} base64url
 * characters.
 */
export const KID_BYTES = 6
/** Characters of a key id written in base64url. */
export const KID_LENGTH = 8
/** Bytes of the AES-GCM nonce at the front of an e1 box. */
export const NONCE_BYTES = 12
/** Bytes of the AES-GCM tag at the end of an e1 box. */
export const TAG_BYTES = 16
/** Bytes of the HMAC-SHA256 tag of an s1 value. */
export const MAC_BYTES = 32
/** Bytes of each HKDF subkey. */
export const SUBKEY_BYTES = 32

/**
 * HKDF-SHA256 `info` strings (salt empty): one derivation per purpose, so no subkey ever serves two
 * algorithms, and the key id reveals nothing about either subkey.
 */
export const INFO_KEY_ID = 'cloakroom v1 key id'
/** HKDF `info` of the AES-256-GCM subkey (see {@link INFO_KEY_ID}). */
export const INFO_AES_GCM = 'cloakroom v1 aes-256-gcm'
/** HKDF `info` of the HMAC-SHA256 subkey (see {@link INFO_KEY_ID}). */
export const INFO_HMAC = 'cloakroom v1 hmac-sha256'

const URL_SAFE = base64Alphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')

const utf8 = new TextEncoder()

/**
 * Encodes bytes as base64url without padding (RFC 4648 §5).
 */
export function encodeBase64url(bytes: Uint8Array): string {
  return encodeUnpadded(bytes, URL_SAFE)
}

/**
 * Decodes strict base64url: the URL-safe alphabet only, no padding, no whitespace, and the unused
 * low bits of the last character must be zero. Each byte string thus has exactly one accepted
 * encoding, so a value cannot be altered in ways that leave its bytes (and its MAC) intact.
 *
 * @returns the bytes, or `null` when `text` is not canonical base64url.
 */
export function decodeBase64url(text: string): Uint8Array | null {
  return decodeUnpadded(text, text.length, URL_SAFE)
}

/**
 * UTF-8 bytes of a string.
 */
export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text)
}

/**
 * Concatenates fields, each preceded by its byte length as 4 bytes big-endian. Without the
 * prefixes, `("a", "bc")` and `("ab", "c")` would be the same bytes, and a value could move
 * between two cookies whose names share a prefix (Tornado's v1 signed cookies had that flaw).
 */
export function lengthPrefixed(fields: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (const field of fields) size += 4 + field.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let offset = 0
  for (const field of fields) {
    view.setUint32(offset, field.length)
    out.set(field, offset + 4)
    offset += 4 + field.length
  }
  return out
}

/**
 * What the AEAD authenticates besides the plaintext (private mode), or what the MAC covers before
 * the plaintext (signed mode): version, key id and cookie name, each length-prefixed. Binding the
 * cookie name means a value sealed for one cookie never opens as another.
 */
export function boundContext(version: string, kid: string, cookieName: string): Uint8Array {
  return lengthPrefixed([utf8Bytes(version), utf8Bytes(kid), utf8Bytes(cookieName)])
}

/**
 * The parts of an `e1` value, decoded and checked for shape (not yet for authenticity).
 */
export interface PrivateParts {
  kid: string
  /** nonce (12) ‖ ciphertext ‖ tag (16), at least 28 bytes. */
  box: Uint8Array
}

/**
 * The parts of an `s1` value, decoded and checked for shape (not yet for authenticity).
 */
export interface SignedParts {
  kid: string
  payload: Uint8Array
  /** Exactly 32 bytes. */
  mac: Uint8Array
}

/**
 * Splits an `e1` value into key id and sealed box, or `null` when its shape is wrong: too long,
 * another version, another number of parts, a key id of the wrong length, bad base64url, or a box
 * too short to hold a nonce and a tag.
 */
export function parsePrivate(value: unknown): PrivateParts | null {
  const parts = split(value, 3, PRIVATE_VERSION)
  if (parts === null) return null
  const box = decodeBase64url(parts[2]!)
  if (box === null || box.length < NONCE_BYTES + TAG_BYTES) return null
  return { kid: parts[1]!, box }
}

/**
 * Splits an `s1` value into key id, payload and MAC, or `null` when its shape is wrong: too long,
 * another version, another number of parts, a key id of the wrong length, bad base64url, or a MAC
 * that is not exactly 32 bytes.
 */
export function parseSigned(value: unknown): SignedParts | null {
  const parts = split(value, 4, SIGNED_VERSION)
  if (parts === null) return null
  const payload = decodeBase64url(parts[2]!)
  if (payload === null) return null
  const mac = decodeBase64url(parts[3]!)
  if (mac === null || mac.length !== MAC_BYTES) return null
  return { kid: parts[1]!, payload, mac }
}

/**
 * The key id a sealed value names (its second part, in either version), or `undefined` for a value
 * of neither shape. It says nothing of authenticity: ask it of a value that opened.
 *
 * @example
 * ```ts
 * keyIdOf('e1.AbCdEfGh.…') // 'AbCdEfGh'
 * ```
 */
export function keyIdOf(value: string): string | undefined {
  // Every request asks this of its cookie: found by position, without splitting the whole value.
  if (!value.startsWith(PRIVATE_VERSION + '.') && !value.startsWith(SIGNED_VERSION + '.')) return undefined
  const start = value.indexOf('.') + 1
  const dot = value.indexOf('.', start)
  const end = dot === -1 ? value.length : dot
  return end - start === KID_LENGTH ? value.slice(start, end) : undefined
}

function split(value: unknown, count: number, version: string): string[] | null {
  if (typeof value !== 'string' || value.length > MAX_SEALED_LENGTH) return null
  // Cheap rejections first, so garbage costs no allocation.
  if (!value.startsWith(version + '.')) return null
  const parts = value.split('.', count + 1)
  if (parts.length !== count || parts[1]!.length !== KID_LENGTH) return null
  return parts
}

/**
 * The wire form of an encrypted value.
 */
export function formatPrivate(kid: string, box: Uint8Array): string {
  return `${PRIVATE_VERSION}.${kid}.${encodeBase64url(box)}`
}

/**
 * The wire form of a signed value.
 */
export function formatSigned(kid: string, payload: Uint8Array, mac: Uint8Array): string {
  return `${SIGNED_VERSION}.${kid}.${encodeBase64url(payload)}.${encodeBase64url(mac)}`
}
