// express-session's cookie, as its source and cookie-signature write it: `s:` + sid + `.` +
// base64(HMAC-SHA256(sid, secret)) without the `=` padding, percent-encoded in the Cookie header
// (so `s:` arrives as `s%3A`). Verified with WebCrypto, which every runtime cloakroom supports
// has (Node's globalThis.crypto too), and whose HMAC verify compares in constant time.

// Named from the global so the file needs neither the DOM lib nor a `node:` type import.
type Subtle = typeof globalThis.crypto.subtle
type CryptoKey = Awaited<ReturnType<Subtle['importKey']>>

/** Longer than any cookie a browser sends: refused before any decoding or crypto runs. */
export const MAX_OLD_COOKIE = 4096
/** An unpadded base64 HMAC-SHA256: 32 bytes in 43 characters. */
const SIGNATURE = /^[A-Za-z0-9+/]{43}$/
const encoder = new TextEncoder()

/**
 * A secret as express-session takes it: a string (its UTF-8 bytes) or bytes.
 *
 * @example
 * ```ts
 * const secrets: OldSecret[] = [process.env.SESSION_SECRET!, 'the secret before the last rotation']
 * ```
 */
export type OldSecret = string | Uint8Array

/**
 * The HMAC keys of express-session's `secret` (all of them verify; express-session signs with the
 * first), imported once, on first use.
 *
 * @example
 * ```ts
 * const keys = importSecrets(['keyboard cat'])
 * const sid = await verifiedSid(cookieValue, await keys())
 * ```
 */
export function importSecrets(secrets: readonly OldSecret[]): () => Promise<CryptoKey[]> {
  let keys: Promise<CryptoKey[]> | undefined
  return () => {
    keys ??= Promise.all(
      secrets.map((secret) =>
        globalThis.crypto.subtle.importKey('raw', typeof secret === 'string' ? encoder.encode(secret) : secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
      ),
    )
    return keys
  }
}

/** The 32 MAC bytes of a canonical unpadded base64 signature, or `null`. */
function macBytes(signature: string): Uint8Array | null {
  if (!SIGNATURE.test(signature)) return null
  const binary = atob(`${signature}=`)
  // Only one text encodes these bytes: a signature with stray low bits is not the one signed.
  if (btoa(binary) !== `${signature}=`) return null
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** The cookie value as express-session reads it: percent-decoded when it holds a `%`, as it is when that fails. */
function decoded(value: string): string {
  if (!value.includes('%')) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * The session id an express-session cookie value carries when its signature verifies under one
 * of `keys`; `null` for anything else (unsigned, forged, malformed, oversized). Never throws.
 *
 * @example
 * ```ts
 * const sid = await verifiedSid('s%3Aabc.Qx…', await keys()) // 'abc', or null
 * ```
 */
export async function verifiedSid(value: string, keys: readonly CryptoKey[]): Promise<string | null> {
  if (value.length === 0 || value.length > MAX_OLD_COOKIE) return null
  const text = decoded(value)
  if (!text.startsWith('s:')) return null
  const dot = text.lastIndexOf('.')
  if (dot < 3) return null
  const sid = text.slice(2, dot)
  const mac = macBytes(text.slice(dot + 1))
  if (mac === null) return null
  const data = encoder.encode(sid)
  for (const key of keys) {
    try {
      if (await globalThis.crypto.subtle.verify('HMAC', key, mac, data)) return sid
    } catch {
      return null
    }
  }
  return null
}
