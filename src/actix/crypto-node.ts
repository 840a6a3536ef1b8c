import { isUtf8 } from 'node:buffer'
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { pooledRandomBytes } from '../crypto/random.js'
import type { CookieSealer, OpenedValue } from '../crypto/types.js'
import { deriveFrom, keyFrom, type ActixKey } from './keys.js'
import type { ActixCrypto, ActixSealerOptions } from './types.js'
import { NONCE_BYTES, TAG_BYTES, base64Outgoing, fitsSessionKey, incoming, outgoing, parsePrivateBox, parseSigned } from './wire.js'

function hmac(key: Uint8Array | KeyObject, data: Uint8Array): Uint8Array {
  return createHmac('sha256', key).update(data).digest()
}

function actixKey(secret: Uint8Array, options: ActixSealerOptions): ActixKey {
  return options.keyMode === 'raw' ? keyFrom(secret) : deriveFrom(secret, hmac)
}

function opened(plaintext: string, index: number): OpenedValue | null {
  return fitsSessionKey(plaintext) ? { plaintext, stale: index !== 0 } : null
}

// Keys are imported once per sealer, as cloakroom's own sealer does: a raw key costs a conversion per call.
function privateSealer(actixKeys: ActixKey[], name: Uint8Array): CookieSealer {
  const keys = actixKeys.map((key) => createSecretKey(key.encryption))
  return {
    seal(plaintext: string): string {
      const nonce = Buffer.from(pooledRandomBytes(NONCE_BYTES))
      const cipher = createCipheriv('aes-256-gcm', keys[0]!, nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(name)
      // Buffer's base64 is the standard, padded alphabet: what the cookie crate writes.
      return base64Outgoing(Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64'))
    },
    open(raw: string): OpenedValue | null {
      const value = incoming(raw)
      const box = value === null ? null : parsePrivateBox(value)
      if (box === null) return null
      const ciphertext = box.sealed.subarray(0, box.sealed.length - TAG_BYTES)
      const tag = box.sealed.subarray(box.sealed.length - TAG_BYTES)
      for (let index = 0; index < keys.length; index++) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', keys[index]!, box.nonce, { authTagLength: TAG_BYTES })
          decipher.setAAD(name)
          decipher.setAuthTag(tag)
          // final() throws when the tag does not verify: then the next key is tried.
          const bytes = Buffer.concat([decipher.update(ciphertext), decipher.final()])
          return isUtf8(bytes) ? opened(bytes.toString('utf8'), index) : null
        } catch {
          continue
        }
      }
      return null
    },
  }
}

function signedSealer(actixKeys: ActixKey[]): CookieSealer {
  const keys = actixKeys.map((key) => createSecretKey(key.signing))
  return {
    seal(plaintext: string): string {
      return base64Outgoing(Buffer.from(hmac(keys[0]!, Buffer.from(plaintext, 'utf8'))).toString('base64')) + outgoing(plaintext)
    },
    open(raw: string): OpenedValue | null {
      const value = incoming(raw)
      const parts = value === null ? null : parseSigned(value)
      if (parts === null) return null
      const payload = Buffer.from(parts.payload, 'utf8')
      for (let index = 0; index < keys.length; index++) {
        if (timingSafeEqual(hmac(keys[index]!, payload), parts.mac)) return opened(parts.payload, index)
      }
      return null
    },
  }
}

/**
 * actix-session's cookie crypto on `node:crypto` (Node, Bun, Deno): synchronous, like cloakroom's own.
 *
 * @example
 * ```ts
 * const sealer = nodeActixCrypto.createSealer({ secrets: [key64], keyMode: 'raw', mode: 'private', cookieName: 'id' })
 * ```
 */
export const nodeActixCrypto: ActixCrypto = {
  createSealer(options: ActixSealerOptions): CookieSealer {
    const keys = options.secrets.map((secret) => actixKey(secret, options))
    if (keys.length === 0) throw new RangeError('cloakroom: an actix-session sealer needs at least one key')
    return options.mode === 'private' ? privateSealer(keys, new TextEncoder().encode(options.cookieName)) : signedSealer(keys)
  },
}
