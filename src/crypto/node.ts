import { nodeActixCrypto } from '../actix/crypto-node.js'
import { isUtf8 } from 'node:buffer'
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto'
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
  formatSigned,
  parsePrivate,
  parseSigned,
} from './format.js'
import { cacheFor, type OpenedCache } from './opened-cache.js'
import { pooledRandomBytes } from './random.js'
import type { CookieSealer, CryptoProvider, OpenedValue, SealerOptions } from './types.js'

/** One secret's derived material, ready for the sealer's mode and cookie name. */
interface RingKey {
  kid: string
  /** The AES-256-GCM or HMAC-SHA256 subkey, per the sealer's mode. */
  key: KeyObject
  /** Version, kid and cookie name, length-prefixed: the AAD or the MAC's prefix. */
  context: Uint8Array
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
}

function hkdf(secret: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), info, length))
}

function buildRing(options: SealerOptions): Map<string, RingKey> {
  const version = options.mode === 'private' ? PRIVATE_VERSION : SIGNED_VERSION
  const info = options.mode === 'private' ? INFO_AES_GCM : INFO_HMAC
  const ring = new Map<string, RingKey>()
  for (const secret of options.keys) {
    const kid = encodeBase64url(hkdf(secret, INFO_KEY_ID, KID_BYTES))
    // The kid depends on the material only: a repeated secret is the same key, and the first wins.
    if (ring.has(kid)) continue
    ring.set(kid, {
      kid,
      key: createSecretKey(hkdf(secret, info, SUBKEY_BYTES)),
      context: boundContext(version, kid, options.cookieName),
    })
  }
  return ring
}

function privateSealer(ring: Map<string, RingKey>, newest: RingKey, cache: OpenedCache<RingKey> | undefined): CookieSealer {
  const inRing = (key: RingKey): boolean => ring.get(key.kid) === key
  return {
    seal(plaintext: string): string {
      const nonce = pooledRandomBytes(NONCE_BYTES)
      const cipher = createCipheriv('aes-256-gcm', newest.key, nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(newest.context)
      const head = cipher.update(plaintext, 'utf8')
      const tail = cipher.final()
      const box = Buffer.allocUnsafe(NONCE_BYTES + head.length + tail.length + TAG_BYTES)
      box.set(nonce, 0)
      head.copy(box, NONCE_BYTES)
      tail.copy(box, NONCE_BYTES + head.length)
      cipher.getAuthTag().copy(box, NONCE_BYTES + head.length + tail.length)
      const value = `${PRIVATE_VERSION}.${newest.kid}.${box.toString('base64url')}`
      cache?.set(value, newest, plaintext, false, false)
      return value
    },
    open(value: string): OpenedValue | null {
      const hit = cache?.get(value, inRing)
      if (hit !== undefined) return hit
      try {
        const parts = parsePrivate(value)
        if (parts === null) return null
        const entry = ring.get(parts.kid)
        if (entry === undefined) return null
        const box = parts.box
        const decipher = createDecipheriv('aes-256-gcm', entry.key, box.subarray(0, NONCE_BYTES), {
          authTagLength: TAG_BYTES,
        })
        decipher.setAAD(entry.context)
        decipher.setAuthTag(box.subarray(box.length - TAG_BYTES))
        const head = decipher.update(box.subarray(NONCE_BYTES, box.length - TAG_BYTES))
        // final() throws when the tag does not verify; the catch below turns that into null.
        const tail = decipher.final()
        const bytes = tail.length === 0 ? head : Buffer.concat([head, tail])
        if (!isUtf8(bytes)) return null
        const plaintext = bytes.toString('utf8')
        const stale = entry !== newest
        cache?.set(value, entry, plaintext, stale, true)
        return { plaintext, stale }
      } catch {
        return null
      }
    },
  }
}

function signedSealer(ring: Map<string, RingKey>, newest: RingKey, cache: OpenedCache<RingKey> | undefined): CookieSealer {
  const inRing = (key: RingKey): boolean => ring.get(key.kid) === key
  return {
    seal(plaintext: string): string {
      const payload = Buffer.from(plaintext, 'utf8')
      const mac = createHmac('sha256', newest.key).update(newest.context).update(payload).digest()
      const value = formatSigned(newest.kid, payload, mac)
      cache?.set(value, newest, plaintext, false, false)
      return value
    },
    open(value: string): OpenedValue | null {
      const hit = cache?.get(value, inRing)
      if (hit !== undefined) return hit
      try {
        const parts = parseSigned(value)
        if (parts === null) return null
        const entry = ring.get(parts.kid)
        if (entry === undefined) return null
        const expected = createHmac('sha256', entry.key).update(entry.context).update(parts.payload).digest()
        // timingSafeEqual throws on unequal lengths; parseSigned already pinned the MAC to 32 bytes.
        if (parts.mac.length !== MAC_BYTES || !timingSafeEqual(expected, parts.mac)) return null
        if (!isUtf8(parts.payload)) return null
        const plaintext = asBuffer(parts.payload).toString('utf8')
        const stale = entry !== newest
        cache?.set(value, entry, plaintext, stale, true)
        return { plaintext, stale }
      } catch {
        return null
      }
    },
  }
}

/**
 * The `node:crypto` implementation (Node, Bun, Deno): synchronous throughout, so a request pays
 * no promise hop for its cookie. AES-256-GCM with a 12-byte random nonce, or HMAC-SHA256, under
 * subkeys derived with HKDF-SHA256 from each secret.
 */
export const cryptoProvider: CryptoProvider = {
  name: 'node',
  actix: nodeActixCrypto,
  createSealer(options: SealerOptions): CookieSealer {
    const ring = buildRing(options)
    const newest = ring.values().next().value
    if (newest === undefined) throw new RangeError('cloakroom: a sealer needs at least one key')
    const cache = cacheFor<RingKey>(options)
    return options.mode === 'private' ? privateSealer(ring, newest, cache) : signedSealer(ring, newest, cache)
  },
}
