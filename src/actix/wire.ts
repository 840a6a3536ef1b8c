/**
 * The shapes of actix-session's cookie values (`cookie` crate 0.16, `src/secure/private.rs` and
 * `src/secure/signed.rs`), shared by the `node:crypto` and WebCrypto sealers. Only shapes here; the
 * crypto runs in the sealers.
 *
 * private: `base64(nonce12 ‖ ciphertext ‖ tag16)`, AES-256-GCM with the cookie name as associated data
 * signed:  `base64(HMAC-SHA256(value))` (44 characters) followed by the value itself
 */
import { decodeBase64, encodeBase64 } from './base64.js'
import { decodeCookieValue, encodeCookieValue } from './percent.js'

export const NONCE_BYTES = 12
export const TAG_BYTES = 16
/** Characters of the padded base64 HMAC-SHA256 at the front of a signed value. */
export const DIGEST_CHARS = 44
export const MAC_BYTES = 32
/** actix-session refuses a session key (the opened value) longer than this, in UTF-8 bytes. */
export const MAX_SESSION_KEY_BYTES = 4064

const utf8 = new TextEncoder()

/**
 * The value as actix-web hands it to the `cookie` crate: trimmed, one pair of surrounding double
 * quotes dropped (then trimmed again), percent-decoded. `null` when the decoded bytes are not UTF-8.
 */
export function incoming(raw: string): string | null {
  let value = raw.trim()
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).trim()
  return decodeCookieValue(value)
}

/** The protected value as it goes on the wire. */
export function outgoing(value: string): string {
  return encodeCookieValue(value)
}

/** Padded standard base64 as it goes on the wire: of its characters, only `/` and `=` are in the encode set. */
export function base64Outgoing(base64: string): string {
  return base64.replaceAll('/', '%2F').replaceAll('=', '%3D')
}

/** A private value's nonce and sealed part (ciphertext ‖ tag), or `null` when it is not strict base64 of more than a nonce. */
export function parsePrivateBox(value: string): { nonce: Uint8Array; sealed: Uint8Array } | null {
  const box = decodeBase64(value)
  if (box === null || box.length < NONCE_BYTES + TAG_BYTES) return null
  return { nonce: box.subarray(0, NONCE_BYTES), sealed: box.subarray(NONCE_BYTES) }
}

/** `base64(nonce ‖ ciphertext ‖ tag)`. */
export function formatPrivateBox(nonce: Uint8Array, sealed: Uint8Array): string {
  const box = new Uint8Array(nonce.length + sealed.length)
  box.set(nonce)
  box.set(sealed, nonce.length)
  return encodeBase64(box)
}

/** A signed value's MAC and the value it covers, or `null` when the first 44 characters are not the base64 of 32 bytes. */
export function parseSigned(value: string): { mac: Uint8Array; payload: string } | null {
  if (value.length < DIGEST_CHARS) return null
  const mac = decodeBase64(value.slice(0, DIGEST_CHARS))
  if (mac === null || mac.length !== MAC_BYTES) return null
  return { mac, payload: value.slice(DIGEST_CHARS) }
}

/** `base64(mac) ‖ value`. */
export function formatSigned(mac: Uint8Array, payload: string): string {
  return encodeBase64(mac) + payload
}

/** Whether an opened value is a session key actix-session would take (at most 4064 UTF-8 bytes). */
export function fitsSessionKey(plaintext: string): boolean {
  return plaintext.length * 3 <= MAX_SESSION_KEY_BYTES || utf8.encode(plaintext).length <= MAX_SESSION_KEY_BYTES
}
