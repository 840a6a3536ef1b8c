import type { CookieSealer, OpenedValue } from '../crypto/types.js'
import { deriveFromAsync, keyFrom, type ActixKey } from './keys.js'
import type { ActixCrypto, ActixSealerOptions } from './types.js'
import { NONCE_BYTES, TAG_BYTES, fitsSessionKey, formatPrivateBox, formatSigned, incoming, outgoing, parsePrivateBox, parseSigned } from './wire.js'

// Named from the global so the file needs neither the DOM lib nor a `node:` type import.
type Subtle = typeof globalThis.crypto.subtle
type CryptoKey = Awaited<ReturnType<Subtle['importKey']>>

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function subtle(): Subtle {
  return globalThis.crypto.subtle
}

function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().sign('HMAC', await hmacKey(key), data))
}

async function actixKey(secret: Uint8Array, options: ActixSealerOptions): Promise<ActixKey> {
  return options.keyMode === 'raw' ? keyFrom(secret) : deriveFromAsync(secret, hmac)
}

function opened(plaintext: string, index: number): OpenedValue | null {
  return fitsSessionKey(plaintext) ? { plaintext, stale: index !== 0 } : null
}

function privateSealer(keys: CryptoKey[], name: Uint8Array): CookieSealer {
  return {
    async seal(plaintext: string): Promise<string> {
      const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
      const sealed = await subtle().encrypt({ name: 'AES-GCM', iv: nonce, additionalData: name, tagLength: TAG_BYTES * 8 }, keys[0]!, utf8.encode(plaintext))
      return outgoing(formatPrivateBox(nonce, new Uint8Array(sealed)))
    },
    async open(raw: string): Promise<OpenedValue | null> {
      const value = incoming(raw)
      const box = value === null ? null : parsePrivateBox(value)
      if (box === null) return null
      for (let index = 0; index < keys.length; index++) {
        let plain: ArrayBuffer
        try {
          // decrypt() rejects when the tag does not verify: then the next key is tried.
          plain = await subtle().decrypt({ name: 'AES-GCM', iv: box.nonce, additionalData: name, tagLength: TAG_BYTES * 8 }, keys[index]!, box.sealed)
        } catch {
          continue
        }
        try {
          return opened(strictUtf8.decode(plain), index)
        } catch {
          return null
        }
      }
      return null
    },
  }
}

function signedSealer(keys: CryptoKey[]): CookieSealer {
  return {
    async seal(plaintext: string): Promise<string> {
      const mac = await subtle().sign('HMAC', keys[0]!, utf8.encode(plaintext))
      return outgoing(formatSigned(new Uint8Array(mac), plaintext))
    },
    async open(raw: string): Promise<OpenedValue | null> {
      const value = incoming(raw)
      const parts = value === null ? null : parseSigned(value)
      if (parts === null) return null
      const payload = utf8.encode(parts.payload)
      for (let index = 0; index < keys.length; index++) {
        // verify() compares in constant time.
        if (await subtle().verify('HMAC', keys[index]!, parts.mac, payload)) return opened(parts.payload, index)
      }
      return null
    },
  }
}

/**
 * actix-session's cookie crypto on WebCrypto (workerd and other edge runtimes): keys are derived and
 * imported once per sealer.
 *
 * @example
 * ```ts
 * const sealer = await webActixCrypto.createSealer({ secrets: [master], keyMode: 'derive', mode: 'signed', cookieName: 'id' })
 * ```
 */
export const webActixCrypto: ActixCrypto = {
  async createSealer(options: ActixSealerOptions): Promise<CookieSealer> {
    const keys = await Promise.all(options.secrets.map((secret) => actixKey(secret, options)))
    if (keys.length === 0) throw new RangeError('cloakroom: an actix-session sealer needs at least one key')
    if (options.mode === 'private') {
      const imported = await Promise.all(keys.map((key) => subtle().importKey('raw', key.encryption, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt'])))
      return privateSealer(imported, utf8.encode(options.cookieName))
    }
    return signedSealer(await Promise.all(keys.map((key) => hmacKey(key.signing))))
  },
}
