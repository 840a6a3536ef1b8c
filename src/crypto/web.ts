import { webActixCrypto } from '../actix/crypto-web.js'
import {
  INFO_AES_GCM,
  INFO_HMAC,
  INFO_KEY_ID,
  KID_BYTES,
  MAC_BYTES,
  NONCE_BYTES,
  PRIVATE_VERSION,
  SIGNED_VERSION,
  SUBKEY_BYTES,
  TAG_BYTES,
  boundContext,
  encodeBase64url,
  formatPrivate,
  formatSigned,
  parsePrivate,
  parseSigned,
  utf8Bytes,
} from './format.js'
import { cacheFor, type OpenedCache } from './opened-cache.js'
import type { CookieSealer, CryptoProvider, OpenedValue, SealerOptions } from './types.js'

// Named from the global so the file needs neither the DOM lib nor a `node:` type import.
type Subtle = typeof globalThis.crypto.subtle
type CryptoKey = Awaited<ReturnType<Subtle['importKey']>>

/** One secret's derived material, imported once per sealer for its mode and cookie name. */
interface RingKey {
  kid: string
  /** A non-extractable AES-GCM or HMAC key, per the sealer's mode. */
  key: CryptoKey
  /** Version, kid and cookie name, length-prefixed: the AAD or the MAC's prefix. */
  context: Uint8Array
}

const EMPTY = new Uint8Array(0)
// fatal: a plaintext that is not UTF-8 was not sealed by us, so it must not open as replacement characters.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function subtle(): Subtle {
  return globalThis.crypto.subtle
}

async function hkdf(secret: CryptoKey, info: string, bytes: number): Promise<Uint8Array> {
  const bits = await subtle().deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: EMPTY, info: utf8Bytes(info) },
    secret,
    bytes * 8,
  )
  return new Uint8Array(bits)
}

async function deriveRingKey(secret: Uint8Array, options: SealerOptions): Promise<RingKey> {
  const master = await subtle().importKey('raw', secret, 'HKDF', false, ['deriveBits'])
  const kid = encodeBase64url(await hkdf(master, INFO_KEY_ID, KID_BYTES))
  if (options.mode === 'private') {
    const raw = await hkdf(master, INFO_AES_GCM, SUBKEY_BYTES)
    return {
      kid,
      key: await subtle().importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
      context: boundContext(PRIVATE_VERSION, kid, options.cookieName),
    }
  }
  const raw = await hkdf(master, INFO_HMAC, SUBKEY_BYTES)
  return {
    kid,
    key: await subtle().importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']),
    context: boundContext(SIGNED_VERSION, kid, options.cookieName),
  }
}

async function buildRing(options: SealerOptions): Promise<Map<string, RingKey>> {
  const derived = await Promise.all(options.keys.map((secret) => deriveRingKey(secret, options)))
  const ring = new Map<string, RingKey>()
  // The kid depends on the material only: a repeated secret is the same key, and the first wins.
  for (const entry of derived) if (!ring.has(entry.kid)) ring.set(entry.kid, entry)
  return ring
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

function privateSealer(ring: Map<string, RingKey>, newest: RingKey, cache: OpenedCache<RingKey> | undefined): CookieSealer {
  const inRing = (key: RingKey): boolean => ring.get(key.kid) === key
  return {
    async seal(plaintext: string): Promise<string> {
      const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
      const sealed = await subtle().encrypt(
        { name: 'AES-GCM', iv: nonce, additionalData: newest.context, tagLength: TAG_BYTES * 8 },
        newest.key,
        utf8Bytes(plaintext),
      )
      const value = formatPrivate(newest.kid, concat(nonce, new Uint8Array(sealed)))
      cache?.set(value, newest, plaintext, false, false)
      return value
    },
    open(value: string): OpenedValue | Promise<OpenedValue | null> {
      // A hit answers synchronously: no WebCrypto call, no promise.
      return cache?.get(value, inRing) ?? openPrivate(value)
    },
  }

  async function openPrivate(value: string): Promise<OpenedValue | null> {
    try {
      const parts = parsePrivate(value)
      if (parts === null) return null
      const entry = ring.get(parts.kid)
      if (entry === undefined) return null
      const box = parts.box
      // decrypt() rejects when the tag does not verify; the catch below turns that into null.
      const plain = await subtle().decrypt(
        { name: 'AES-GCM', iv: box.subarray(0, NONCE_BYTES), additionalData: entry.context, tagLength: TAG_BYTES * 8 },
        entry.key,
        box.subarray(NONCE_BYTES),
      )
      const plaintext = decodeUtf8(new Uint8Array(plain))
      return plaintext === null ? null : remember(cache, value, entry, newest, plaintext)
    } catch {
      return null
    }
  }
}

function signedSealer(ring: Map<string, RingKey>, newest: RingKey, cache: OpenedCache<RingKey> | undefined): CookieSealer {
  const inRing = (key: RingKey): boolean => ring.get(key.kid) === key
  return {
    async seal(plaintext: string): Promise<string> {
      const payload = utf8Bytes(plaintext)
      const mac = await subtle().sign('HMAC', newest.key, concat(newest.context, payload))
      const value = formatSigned(newest.kid, payload, new Uint8Array(mac))
      cache?.set(value, newest, plaintext, false, false)
      return value
    },
    open(value: string): OpenedValue | Promise<OpenedValue | null> {
      return cache?.get(value, inRing) ?? openSigned(value)
    },
  }

  async function openSigned(value: string): Promise<OpenedValue | null> {
    try {
      const parts = parseSigned(value)
      if (parts === null) return null
      const entry = ring.get(parts.kid)
      if (entry === undefined) return null
      if (parts.mac.length !== MAC_BYTES) return null
      // verify() compares in constant time, unlike a comparison of our own.
      const ok = await subtle().verify('HMAC', entry.key, parts.mac, concat(entry.context, parts.payload))
      if (!ok) return null
      const plaintext = decodeUtf8(parts.payload)
      return plaintext === null ? null : remember(cache, value, entry, newest, plaintext)
    } catch {
      return null
    }
  }
}

/** A request's value that opened: remembered, so the next request with it costs no WebCrypto call. */
function remember(cache: OpenedCache<RingKey> | undefined, value: string, entry: RingKey, newest: RingKey, plaintext: string): OpenedValue {
  const stale = entry !== newest
  cache?.set(value, entry, plaintext, stale, true)
  return { plaintext, stale }
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return null
  }
}

/**
 * The WebCrypto implementation, for workerd and other edge runtimes: only `crypto.subtle`,
 * `getRandomValues` and `TextEncoder`/`TextDecoder`, no `Buffer`. Subkeys are derived and imported
 * once per sealer; each seal and open then costs one WebCrypto call.
 */
export const cryptoProvider: CryptoProvider = {
  name: 'web',
  actix: webActixCrypto,
  async createSealer(options: SealerOptions): Promise<CookieSealer> {
    const ring = await buildRing(options)
    const newest = ring.values().next().value
    if (newest === undefined) throw new RangeError('cloakroom: a sealer needs at least one key')
    const cache = cacheFor<RingKey>(options)
    return options.mode === 'private' ? privateSealer(ring, newest, cache) : signedSealer(ring, newest, cache)
  },
}
