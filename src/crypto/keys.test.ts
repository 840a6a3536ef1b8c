import { describe, expect, it } from 'vitest'
import { decodeBase64url } from './format.js'
import { generateKey, keyBytes } from './keys.js'

describe('generateKey', () => {
  it('returns 43 base64url characters', () => {
    expect(generateKey()).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('encodes exactly 32 bytes, canonically', () => {
    const key = generateKey()
    const bytes = Buffer.from(key, 'base64url')
    expect(bytes.length).toBe(32)
    expect(bytes.toString('base64url')).toBe(key)
    expect(decodeBase64url(key)).toEqual(new Uint8Array(bytes))
  })

  it('returns 1000 distinct keys in 1000 calls', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateKey()))
    expect(keys.size).toBe(1000)
  })

  it('uses every base64url symbol over many keys', () => {
    // A generator drawing from a reduced alphabet would lose entropy silently (RUSTSEC-2024-0343).
    const symbols = new Set(Array.from({ length: 200 }, () => generateKey()).join(''))
    expect(symbols.size).toBe(64)
  })
})

describe('keyBytes', () => {
  it('takes a string as its UTF-8 bytes', () => {
    expect(keyBytes('aé🧥')).toEqual(new Uint8Array([0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0xa7, 0xa5]))
  })

  it('takes a generated key as its characters, not decoded', () => {
    const key = generateKey()
    expect(keyBytes(key).length).toBe(43)
    expect(Buffer.from(keyBytes(key)).toString('ascii')).toBe(key)
  })

  it('returns a Uint8Array as is', () => {
    const secret = new Uint8Array(32).fill(9)
    expect(keyBytes(secret)).toBe(secret)
  })
})
