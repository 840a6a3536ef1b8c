import { createDecipheriv } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeBase64, encodeBase64 } from '../../src/actix/base64.js'
import { nodeActixCrypto } from '../../src/actix/crypto-node.js'
import { webActixCrypto } from '../../src/actix/crypto-web.js'
import { deriveFrom, keyFrom, type ActixKeyMode } from '../../src/actix/keys.js'
import { decodeCookieValue, encodeCookieValue } from '../../src/actix/percent.js'
import { generateSessionKey } from '../../src/actix/session-key.js'
import { decodeState, encodeState } from '../../src/actix/state.js'
import type { ActixCrypto } from '../../src/actix/types.js'
import type { Json } from '../../src/core/json.js'
import type { ContentSecurity } from '../../src/crypto/types.js'

/** Made by test/actix/vectors/make-vectors.py (Python and the `cryptography` package), not by cloakroom. */
interface Vectors {
  keys: { mode: ActixKeyMode; secret: string; signing: string; encryption: string }[]
  private: { key: number; name: string; plaintext: string; value: string; wire: string }[]
  signed: { key: number; plaintext: string; value: string; wire: string; wire_0_16_0: string }[]
  negative_private: { case: string; key: number; name: string; value: string; opens: boolean }[]
  negative_signed: { case: string; key: number; value: string; opens: boolean }[]
  percent: { text: string; wire: string; wire_0_16_0: string }[]
  states: { data: Record<string, Json>; text: string }[]
}

const vectors = JSON.parse(readFileSync(new URL('./vectors/vectors.json', import.meta.url), 'utf8')) as Vectors
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'))

// The key of the `cookie` crate's own round-trip tests (rwf2/cookie-rs, src/secure/private.rs and
// src/secure/signed.rs, tag 0.16.2): "SHA-256 hash of 'Super secret!' passed through HKDF-SHA256".
const COOKIE_CRATE_KEY = Uint8Array.from([
  89, 202, 200, 125, 230, 90, 197, 245, 166, 249, 34, 169, 135, 31, 20, 197, 94, 154, 254, 79, 60, 26, 8, 143, 254, 24, 116, 138, 92, 225, 159, 60,
  157, 41, 135, 129, 31, 226, 196, 16, 198, 168, 134, 4, 42, 1, 196, 24, 57, 103, 241, 147, 201, 185, 233, 10, 180, 170, 187, 89, 252, 137, 110, 107,
])

const providers: [string, ActixCrypto][] = [
  ['node:crypto', nodeActixCrypto],
  ['WebCrypto', webActixCrypto],
]

async function sealer(crypto: ActixCrypto, key: number | Uint8Array, mode: ContentSecurity, cookieName = 'id', keyMode?: ActixKeyMode) {
  const entry = typeof key === 'number' ? vectors.keys[key]! : undefined
  const secret = entry ? bytes(entry.secret) : (key as Uint8Array)
  return crypto.createSealer({ secrets: [secret], keyMode: keyMode ?? entry?.mode ?? 'raw', mode, cookieName })
}

describe('actix-session keys (cookie::Key)', () => {
  it('Key::from splits the first 64 bytes: signing 0–31, encryption 32–63 (the crate\'s from_works)', () => {
    const key = keyFrom(Uint8Array.from({ length: 70 }, (_, i) => i))
    expect([...key.signing]).toEqual(Array.from({ length: 32 }, (_, i) => i))
    expect([...key.encryption]).toEqual(Array.from({ length: 32 }, (_, i) => i + 32))
    expect(() => keyFrom(new Uint8Array(63))).toThrow(RangeError)
  })

  it('Key::derive_from matches the independent HKDF-Expand (Python cryptography)', async () => {
    const { createHmac } = await import('node:crypto')
    for (const entry of vectors.keys) {
      const key = entry.mode === 'raw' ? keyFrom(bytes(entry.secret)) : deriveFrom(bytes(entry.secret), (k, d) => createHmac('sha256', k).update(d).digest())
      expect(Buffer.from(key.signing).toString('base64')).toBe(entry.signing)
      expect(Buffer.from(key.encryption).toString('base64')).toBe(entry.encryption)
    }
    expect(() => deriveFrom(new Uint8Array(31), () => new Uint8Array(32))).toThrow(RangeError)
  })
})

describe.each(providers)('actix-session cookie crypto on %s', (_, crypto) => {
  it("opens the cookie crate's own round-trip vectors (private.rs, signed.rs)", async () => {
    for (const [name, value] of [
      ['encrypted_with_ring014', 'lObeZJorGVyeSWUA8khTO/8UCzFVBY9g0MGU6/J3NN1R5x11dn2JIA=='],
      ['encrypted_with_ring016', 'SU1ujceILyMBg3fReqRmA9HUtAIoSPZceOM/CUpObROHEujXIjonkA=='],
    ] as const) {
      const opened = await (await sealer(crypto, COOKIE_CRATE_KEY, 'private', name, 'raw')).open(value)
      expect(opened?.plaintext).toBe('Tamper-proof')
      // The name is the associated data: the same value under another name does not open.
      expect(await (await sealer(crypto, COOKIE_CRATE_KEY, 'private', 'id', 'raw')).open(value)).toBeNull()
    }
    const signed = await sealer(crypto, COOKIE_CRATE_KEY, 'signed', 'signed_with_ring014', 'raw')
    expect((await signed.open('3tdHXEQ2kf6fxC7dWzBGmpSLMtJenXLKrZ9cHkSsl1w=Tamper-proof'))?.plaintext).toBe('Tamper-proof')
    expect(await signed.seal('Tamper-proof')).toBe(encodeCookieValue('3tdHXEQ2kf6fxC7dWzBGmpSLMtJenXLKrZ9cHkSsl1w=Tamper-proof'))
  })

  it("rejects the crate's issue_178 value (a multi-byte character across the digest boundary) without throwing", async () => {
    const signed = await sealer(crypto, new Uint8Array(64).fill(7).map((v, i) => v ^ i), 'signed', 'x', 'raw')
    expect(await signed.open('yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy£')).toBeNull()
  })

  it('opens every private vector, percent-encoded as actix-web sends it or not', async () => {
    for (const vector of vectors.private) {
      const box = await sealer(crypto, vector.key, 'private', vector.name)
      expect((await box.open(vector.wire))?.plaintext, vector.value).toBe(vector.plaintext)
      expect((await box.open(vector.value))?.plaintext).toBe(vector.plaintext)
    }
  })

  it('seals private values that the independent key and AES-GCM open, with the cookie name as associated data', async () => {
    for (const vector of vectors.private.filter((v) => v.name === 'session')) {
      const wire = await (await sealer(crypto, vector.key, 'private', 'session')).seal(vector.plaintext)
      const value = decodeCookieValue(wire)!
      expect(value).toMatch(/^[A-Za-z0-9+/]+={0,2}$/)
      expect(value.length % 4).toBe(0)
      const box = Buffer.from(value, 'base64')
      const decipher = createDecipheriv('aes-256-gcm', bytes(vectors.keys[vector.key]!.encryption), box.subarray(0, 12))
      decipher.setAAD(Buffer.from('session'))
      decipher.setAuthTag(box.subarray(box.length - 16))
      expect(Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]).toString('utf8')).toBe(vector.plaintext)
    }
  })

  it('seals signed values byte for byte as the independent implementation, and opens both percent-encodings', async () => {
    for (const vector of vectors.signed) {
      const box = await sealer(crypto, vector.key, 'signed')
      expect(await box.seal(vector.plaintext)).toBe(vector.wire)
      expect((await box.open(vector.wire))?.plaintext).toBe(vector.plaintext)
      expect((await box.open(vector.wire_0_16_0))?.plaintext).toBe(vector.plaintext)
      // The name is not covered: a signed value opens under any cookie name.
      expect((await (await sealer(crypto, vector.key, 'signed', 'other')).open(vector.wire))?.plaintext).toBe(vector.plaintext)
    }
  })

  it('refuses every negative private case, and opens the controls', async () => {
    for (const vector of vectors.negative_private) {
      const opened = await (await sealer(crypto, vector.key, 'private', vector.name)).open(encodeCookieValue(vector.value))
      expect(opened === null ? 'refused' : 'opened', vector.case).toBe(vector.opens ? 'opened' : 'refused')
    }
  })

  it('refuses every negative signed case, and opens the control', async () => {
    for (const vector of vectors.negative_signed) {
      const opened = await (await sealer(crypto, vector.key, 'signed')).open(encodeCookieValue(vector.value))
      expect(opened === null ? 'refused' : 'opened', vector.case).toBe(vector.opens ? 'opened' : 'refused')
    }
  })

  it('opens under an older key of the ring and says it is stale', async () => {
    const older = vectors.private.find((v) => v.key === 1 && v.name === 'id')!
    const ring = await crypto.createSealer({ secrets: [bytes(vectors.keys[2]!.secret), bytes(vectors.keys[1]!.secret)], keyMode: 'derive', mode: 'private', cookieName: 'id' })
    expect(await ring.open(older.wire)).toEqual({ plaintext: older.plaintext, stale: true })
  })

  it('refuses values that are quoted wrongly, not UTF-8 once decoded, or over 4064 bytes', async () => {
    const vector = vectors.private.find((v) => v.key === 0 && v.name === 'id')!
    const box = await sealer(crypto, 0, 'private')
    expect((await box.open(`"${vector.wire}"`))?.plaintext).toBe(vector.plaintext)
    expect(await box.open(`"${vector.wire}`)).toBeNull()
    expect(await box.open('%FF%FE')).toBeNull()
    const long = 'x'.repeat(4065)
    expect(await box.open(await box.seal(long))).toBeNull()
    expect((await box.open(await box.seal(long.slice(1))))?.plaintext).toBe(long.slice(1))
  })
})

describe('actix-session wire encoding', () => {
  it('percent-encodes as cookie 0.16.1+ and decodes both 0.16.0 and 0.16.1+ forms (independent vectors)', () => {
    for (const vector of vectors.percent) {
      expect(encodeCookieValue(vector.text)).toBe(vector.wire)
      expect(decodeCookieValue(vector.wire)).toBe(vector.text)
      expect(decodeCookieValue(vector.wire_0_16_0)).toBe(vector.text)
    }
    expect(decodeCookieValue('100%')).toBe('100%')
    expect(decodeCookieValue('%4')).toBe('%4')
  })

  it('strict base64: padding required, standard alphabet, zero trailing bits', () => {
    for (let n = 0; n < 40; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255)
      const text = encodeBase64(data)
      expect(text).toBe(Buffer.from(data).toString('base64'))
      expect(decodeBase64(text)).toEqual(data)
    }
    expect(decodeBase64('+/8=')).toEqual(new Uint8Array([251, 255]))
    for (const bad of ['+/8', '-_8=', '+/9=', 'AA==A', 'A===', '====', ' +/8=', '+/8=\n', 'AA=A']) expect(decodeBase64(bad), bad).toBeNull()
  })

  it('session keys are 64 alphanumerics, all different', () => {
    const keys = new Set(Array.from({ length: 200 }, generateSessionKey))
    expect(keys.size).toBe(200)
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9]{64}$/)
  })
})

describe('actix-session state', () => {
  it('writes 0.11 double-encoded JSON exactly as the independent implementation, and reads it back', () => {
    for (const vector of vectors.states) {
      expect(encodeState(vector.data)).toBe(vector.text)
      expect(decodeState(vector.text)).toEqual(vector.data)
    }
  })

  it("reads the unreleased versioned format {\"v\":1,\"state\":{…}} and format.rs's fallbacks", () => {
    expect(decodeState('{"v":1,"state":{"counter":1,"user":"ferris"}}')).toEqual({ counter: 1, user: 'ferris' })
    expect(decodeState('{"v":2,"state":{}}')).toBeUndefined()
    expect(decodeState('{"v":-1,"state":{}}')).toBeUndefined()
    expect(decodeState('{"v":"1","state":{}}')).toEqual({ v: '1', state: {} })
    expect(decodeState('{"n":1,"s":"x"}')).toEqual({ n: 1, s: 'x' })
    expect(decodeState('{"name":"bob"}')).toBeUndefined()
    expect(decodeState('{}')).toEqual({})
    for (const bad of ['', 'null', '[]', '"x"', '{"a":', 'q9XwB3vL0aZ7kT2mR5nC8yH1dF4gJ6pS']) expect(decodeState(bad), bad).toBeUndefined()
  })

  it('keeps __proto__ as a plain key, never a prototype', () => {
    const data = decodeState('{"__proto__":"{\\"admin\\":true}"}')!
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype)
    expect(Object.keys(data)).toEqual(['__proto__'])
    expect((data as Record<string, unknown>)['admin']).toBeUndefined()
    expect(encodeState(data)).toBe('{"__proto__":"{\\"admin\\":true}"}')
  })
})
