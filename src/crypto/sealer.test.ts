import { createCipheriv, createHmac, hkdfSync } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { keyBytes } from './keys.js'
import { keyIdOf } from './format.js'
import { cryptoProvider as nodeProvider } from './node.js'
import type { ContentSecurity, CookieSealer, CryptoProvider } from './types.js'
import { cryptoProvider as webProvider } from './web.js'

const KEY_A = keyBytes('key A: thirty-two bytes or more of test material')
const KEY_B = keyBytes('key B: thirty-two bytes or more of test material')
const KEY_C = keyBytes('key C: thirty-two bytes or more of test material')
const MODES: readonly ContentSecurity[] = ['private', 'signed']
const PLAINTEXT = '{"createdAt":1700000000,"data":{"user":"zoë","n":42,"emoji":"🧥"}}'

// The wire format written out again from the spec with node:crypto alone, independent of format.ts,
// so the tests pin the format itself and not merely agreement between two halves of one codebase.
const spec = {
  b64(bytes: Uint8Array): string {
    return Buffer.from(bytes).toString('base64url')
  },
  unb64(text: string): Buffer {
    return Buffer.from(text, 'base64url')
  },
  hkdf(secret: Uint8Array, info: string, length: number): Buffer {
    return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), info, length))
  },
  kid(secret: Uint8Array): string {
    return spec.b64(spec.hkdf(secret, 'cloakroom v1 key id', 6))
  },
  lp(...fields: string[]): Buffer {
    return Buffer.concat(
      fields.map((field) => {
        const bytes = Buffer.from(field, 'utf8')
        const length = Buffer.alloc(4)
        length.writeUInt32BE(bytes.length)
        return Buffer.concat([length, bytes])
      }),
    )
  },
  private(secret: Uint8Array, cookieName: string, plaintext: Uint8Array): string {
    const kid = spec.kid(secret)
    const nonce = Buffer.alloc(12, 7)
    const cipher = createCipheriv('aes-256-gcm', spec.hkdf(secret, 'cloakroom v1 aes-256-gcm', 32), nonce)
    cipher.setAAD(spec.lp('e1', kid, cookieName))
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return `e1.${kid}.${spec.b64(Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]))}`
  },
  signed(secret: Uint8Array, cookieName: string, payload: Uint8Array): string {
    const kid = spec.kid(secret)
    const mac = createHmac('sha256', spec.hkdf(secret, 'cloakroom v1 hmac-sha256', 32))
      .update(spec.lp('s1', kid, cookieName))
      .update(payload)
      .digest()
    return `s1.${kid}.${spec.b64(payload)}.${spec.b64(mac)}`
  },
}

/** Standard base64 with padding: what a careless encoder would produce. */
function standardBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64')
}

function replacePart(value: string, index: number, part: string): string {
  const parts = value.split('.')
  parts[index] = part
  return parts.join('.')
}

function boxOf(value: string): Buffer {
  return spec.unb64(value.split('.')[2]!)
}

function withBox(value: string, box: Uint8Array): string {
  return replacePart(value, 2, spec.b64(box))
}

// Every case runs with the cache of opened values off (each open is real cryptography) and on (a
// value this sealer sealed or opened before answers from the cache, which must change nothing).
const VARIANTS = [nodeProvider, webProvider].flatMap((provider) => [
  { provider, name: provider.name, cache: 'uncached', openedCache: false as const },
  { provider, name: provider.name, cache: 'cached', openedCache: undefined },
])

describe.each(VARIANTS)('the $name crypto provider, $cache', ({ provider, openedCache }) => {
  async function sealer(keys: Uint8Array[], mode: ContentSecurity, cookieName = 'id'): Promise<CookieSealer> {
    return await provider.createSealer({ keys, mode, cookieName, ...(openedCache === false ? { openedCache } : {}) })
  }

  describe.each(MODES)('in %s mode', (mode) => {
    it('opens what it sealed, not stale', async () => {
      const s = await sealer([KEY_A], mode)
      expect(await s.open(await s.seal(PLAINTEXT))).toEqual({ plaintext: PLAINTEXT, stale: false })
    })

    it('round-trips the empty string', async () => {
      const s = await sealer([KEY_A], mode)
      expect(await s.open(await s.seal(''))).toEqual({ plaintext: '', stale: false })
    })

    it('opens a value built by hand from the wire-format spec', async () => {
      const s = await sealer([KEY_A], mode)
      const bytes = Buffer.from(PLAINTEXT, 'utf8')
      const value = mode === 'private' ? spec.private(KEY_A, 'id', bytes) : spec.signed(KEY_A, 'id', bytes)
      expect(await s.open(value)).toEqual({ plaintext: PLAINTEXT, stale: false })
    })

    it('names the key by the HKDF-derived key id', async () => {
      const s = await sealer([KEY_A], mode)
      expect((await s.seal(PLAINTEXT)).split('.')[1]).toBe(spec.kid(KEY_A))
    })

    it('emits only characters legal in a cookie value without encoding', async () => {
      const s = await sealer([KEY_A], mode)
      expect(await s.seal(PLAINTEXT)).toMatch(/^[A-Za-z0-9_.-]+$/)
    })

    it('opens a value sealed under an older key as stale', async () => {
      const old = await sealer([KEY_A], mode)
      const rotated = await sealer([KEY_B, KEY_A], mode)
      expect(await rotated.open(await old.seal(PLAINTEXT))).toEqual({ plaintext: PLAINTEXT, stale: true })
    })

    it('seals under the first key after rotation', async () => {
      const rotated = await sealer([KEY_B, KEY_A], mode)
      const newOnly = await sealer([KEY_B], mode)
      expect(await newOnly.open(await rotated.seal(PLAINTEXT))).toEqual({ plaintext: PLAINTEXT, stale: false })
    })

    it('refuses a value once its key has left the ring', async () => {
      const old = await sealer([KEY_A], mode)
      const retired = await sealer([KEY_B, KEY_C], mode)
      expect(await retired.open(await old.seal(PLAINTEXT))).toBeNull()
    })

    it('derives the key id from the material, not from its position in the ring', async () => {
      const ab = await sealer([KEY_A, KEY_B], mode)
      const ba = await sealer([KEY_B, KEY_A], mode)
      expect(await ba.open(await ab.seal('from ab'))).toEqual({ plaintext: 'from ab', stale: true })
      expect(await ab.open(await ba.seal('from ba'))).toEqual({ plaintext: 'from ba', stale: true })
    })

    it('treats a repeated secret as one key, keeping its first position', async () => {
      const ring = await sealer([KEY_A, KEY_B, KEY_A], mode)
      const onlyA = await sealer([KEY_A], mode)
      const onlyB = await sealer([KEY_B], mode)
      expect(await ring.open(await onlyA.seal('a'))).toEqual({ plaintext: 'a', stale: false })
      expect(await ring.open(await onlyB.seal('b'))).toEqual({ plaintext: 'b', stale: true })
    })

    it('takes a string secret as its UTF-8 bytes', async () => {
      const fromString = await sealer([keyBytes('ünïcode secret that is long enough to use')], mode)
      const fromBytes = await sealer([new Uint8Array(Buffer.from('ünïcode secret that is long enough to use', 'utf8'))], mode)
      expect(await fromBytes.open(await fromString.seal('x'))).toEqual({ plaintext: 'x', stale: false })
    })

    it('refuses a value sealed for another cookie name', async () => {
      const forA = await sealer([KEY_A], mode, 'a')
      const forB = await sealer([KEY_A], mode, 'b')
      expect(await forB.open(await forA.seal(PLAINTEXT))).toBeNull()
    })

    it('keeps a value for name "a" and plaintext "bc" from opening as name "ab" with any plaintext', async () => {
      const forA = await sealer([KEY_A], mode, 'a')
      const forAb = await sealer([KEY_A], mode, 'ab')
      const value = await forA.seal('bc')
      expect(await forAb.open(value)).toBeNull()
      if (mode === 'signed') {
        // Without length prefixes, "a"‖"bc" and "ab"‖"c" are the same MAC input: move the MAC over.
        expect(await forAb.open(replacePart(value, 2, spec.b64(Buffer.from('c'))))).toBeNull()
      }
    })

    it('refuses a value of the other mode sealed under the same key', async () => {
      const other = await sealer([KEY_A], mode === 'private' ? 'signed' : 'private')
      const s = await sealer([KEY_A], mode)
      expect(await s.open(await other.seal(PLAINTEXT))).toBeNull()
    })

    it('refuses a plaintext that is not valid UTF-8 even when it authenticates', async () => {
      const s = await sealer([KEY_A], mode)
      const invalid = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])
      const value = mode === 'private' ? spec.private(KEY_A, 'id', invalid) : spec.signed(KEY_A, 'id', invalid)
      expect(await s.open(value)).toBeNull()
    })

    it('refuses a value longer than 8192 characters before any work', async () => {
      const s = await sealer([KEY_A], mode)
      const value = await s.seal('x'.repeat(7000))
      expect(value.length).toBeGreaterThan(8192)
      expect(await s.open(value)).toBeNull()
    })

    it('refuses input that is not a string', async () => {
      const s = await sealer([KEY_A], mode)
      for (const input of [undefined, null, 42, {}, ['e1']]) expect(await s.open(input as never)).toBeNull()
    })
  })

  describe('in private mode', () => {
    let s: CookieSealer
    let value: string
    let kid: string
    beforeAll(async () => {
      s = await sealer([KEY_A], 'private')
      value = await s.seal(PLAINTEXT)
      kid = spec.kid(KEY_A)
    })

    it('hides the plaintext', () => {
      expect(spec.unb64(value.split('.')[2]!).toString('latin1')).not.toContain('createdAt')
    })

    it('seals the same plaintext differently each time', async () => {
      expect(await s.seal(PLAINTEXT)).not.toBe(await s.seal(PLAINTEXT))
    })

    it('never repeats a nonce over 3000 seals (past several pool refills)', async () => {
      const nonces = new Set<string>()
      for (let i = 0; i < 3000; i++) nonces.add(boxOf(await s.seal('')).subarray(0, 12).toString('hex'))
      expect(nonces.size).toBe(3000)
    })

    // Every malformed or hostile value is "no session", never a throw (OWASP: treat the session id as untrusted input).
    const hostile: [string, (v: string, kid: string) => string][] = [
      ['an empty value', () => ''],
      ['a lone "="', () => '='],
      ['a quoted value', (v) => `"${v}"`],
      ['a body that is not base64', (v) => replacePart(v, 2, '!!not*base64!!')],
      ['a body with "=" padding appended', (v) => v + '='],
      ['a body with correct standard padding', (v) => withBoxText(v, standardBase64(boxOf(v)).replace(/\+/g, '-').replace(/\//g, '_'))],
      ['a body with a space inside', (v) => v.slice(0, 30) + ' ' + v.slice(30)],
      ['a body with a newline inside', (v) => v.slice(0, 30) + '\n' + v.slice(30)],
      ['a leading space', (v) => ' ' + v],
      ['a trailing space', (v) => v + ' '],
      ['version v0', (v) => replacePart(v, 0, 'v0')],
      ['version v9', (v) => replacePart(v, 0, 'v9')],
      ['version v1', (v) => replacePart(v, 0, 'v1')],
      ['version e2', (v) => replacePart(v, 0, 'e2')],
      ['version e0', (v) => replacePart(v, 0, 'e0')],
      ['version E1', (v) => replacePart(v, 0, 'E1')],
      ['an unknown kid', (v) => replacePart(v, 1, 'AAAAAAAA')],
      ['a kid with "../"', (v, k) => replacePart(v, 1, '../' + k.slice(3))],
      ['a kid made of "../../"', (v) => `e1.../../...${v.split('.')[2]}`],
      ['a kid one character short', (v, k) => replacePart(v, 1, k.slice(0, 7))],
      ['a kid one character long', (v, k) => replacePart(v, 1, k + 'A')],
      ['an oversized kid', (v) => replacePart(v, 1, 'A'.repeat(4000))],
      ['a nonce of 0 bytes', (v) => withBox(v, boxOf(v).subarray(12))],
      ['a nonce of 11 bytes', (v) => withBox(v, boxOf(v).subarray(1))],
      ['a nonce of 13 bytes', (v) => withBox(v, Buffer.concat([Buffer.from([0]), boxOf(v)]))],
      ['a ciphertext shorter than the tag', (v) => withBox(v, Buffer.concat([boxOf(v).subarray(0, 12), boxOf(v).subarray(-15)]))],
      ['nonce and tag only', (v) => withBox(v, Buffer.concat([boxOf(v).subarray(0, 12), boxOf(v).subarray(-16)]))],
      ['a tag truncated by one byte', (v) => withBox(v, boxOf(v).subarray(0, -1))],
      ['a tag truncated to 12 bytes', (v) => withBox(v, boxOf(v).subarray(0, -4))],
      ['a flipped bit in the nonce', (v) => withBox(v, flipBit(boxOf(v), 3))],
      ['a flipped bit in the ciphertext', (v) => withBox(v, flipBit(boxOf(v), 20))],
      ['a flipped bit in the tag', (v) => withBox(v, flipBit(boxOf(v), boxOf(v).length - 1))],
      ['an extra part', (v) => v + '.AAAA'],
      ['a trailing separator', (v) => v + '.'],
      ['a leading separator', (v) => '.' + v],
      ['garbage appended to the body', (v) => v + 'garbage'],
      ['no separator', (v) => v.replace(/\./g, '')],
      ['a separator only', () => '.'],
      ['separators only', () => '..'],
      ['three separators', () => '...'],
      ['the version alone', () => 'e1'],
      ['the version and kid alone', (_v, k) => `e1.${k}`],
      ['an empty body', (_v, k) => `e1.${k}.`],
      ['the maximum length of garbage', (_v, k) => `e1.${k}.${'A'.repeat(8192 - 12)}`],
      ['one character past the maximum length', (_v, k) => `e1.${k}.${'A'.repeat(8192 - 11)}`],
    ]

    it.each(hostile)('opens %s to null', async (_name, make) => {
      const forged = make(value, kid)
      expect(forged).not.toBe(value)
      expect(await s.open(forged)).toBeNull()
    })

    it('opens a body in the standard base64 alphabet to null', async () => {
      let sealed = value
      // Reseal until the box's encoding holds a character on which the two alphabets differ.
      while (!/[-_]/.test(sealed.split('.')[2]!)) sealed = await s.seal(PLAINTEXT)
      const standard = standardBase64(boxOf(sealed)).replace(/=+$/, '')
      expect(await s.open(withBoxText(sealed, standard))).toBeNull()
    })

    it('opens a body with non-zero trailing bits to null', async () => {
      let sealed = value
      let n = 0
      // Only a body whose length is not a multiple of 4 characters has unused low bits.
      while (sealed.split('.')[2]!.length % 4 === 0) sealed = await s.seal(PLAINTEXT + 'x'.repeat(++n))
      const body = sealed.split('.')[2]!
      const last = body.at(-1)!
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const sibling = alphabet[alphabet.indexOf(last) | 1]!
      expect(sibling).not.toBe(last)
      expect(spec.unb64(body.slice(0, -1) + sibling)).toEqual(spec.unb64(body))
      expect(await s.open(withBoxText(sealed, body.slice(0, -1) + sibling))).toBeNull()
    })
  })

  describe('in signed mode', () => {
    let s: CookieSealer
    let value: string
    let kid: string
    beforeAll(async () => {
      s = await sealer([KEY_A], 'signed')
      value = await s.seal(PLAINTEXT)
      kid = spec.kid(KEY_A)
    })

    it('carries the plaintext readable, as base64url', () => {
      expect(spec.unb64(value.split('.')[2]!).toString('utf8')).toBe(PLAINTEXT)
    })

    it('seals the same plaintext to the same value', async () => {
      expect(await s.seal(PLAINTEXT)).toBe(value)
    })

    const mac = (v: string): Buffer => spec.unb64(v.split('.')[3]!)
    const hostile: [string, (v: string, kid: string) => string][] = [
      ['an empty value', () => ''],
      ['a lone "="', () => '='],
      ['a quoted value', (v) => `"${v}"`],
      ['"fake unsigned data"', () => 'fake unsigned data'],
      ['the plaintext without a MAC', (v) => v.split('.').slice(0, 3).join('.')],
      ['an empty MAC', (v) => replacePart(v, 3, '')],
      ['sig+garbage', (v) => v + 'garbage'],
      ['sig+".garbage"', (v) => v + '.garbage'],
      ['"garbage."+sig', (v) => 'garbage.' + v],
      ['a MAC with "=" padding', (v) => v + '='],
      ['a MAC in the standard alphabet with padding', (v) => replacePart(v, 3, standardBase64(mac(v)))],
      ['a MAC of 31 bytes', (v) => replacePart(v, 3, spec.b64(mac(v).subarray(1)))],
      ['a MAC of 33 bytes', (v) => replacePart(v, 3, spec.b64(Buffer.concat([mac(v), Buffer.from([0])])))],
      ['a MAC flipped in one bit', (v) => replacePart(v, 3, spec.b64(flipBit(mac(v), 31)))],
      ['another plaintext under the same MAC', (v) => replacePart(v, 2, spec.b64(Buffer.from('{"admin":true}')))],
      ['a payload that is not base64', (v) => replacePart(v, 2, '{"admin":true}')],
      ['a payload with a space inside', (v) => v.slice(0, 20) + ' ' + v.slice(20)],
      ['version v0', (v) => replacePart(v, 0, 'v0')],
      ['version v9', (v) => replacePart(v, 0, 'v9')],
      ['version s2', (v) => replacePart(v, 0, 's2')],
      ['version e1', (v) => replacePart(v, 0, 'e1')],
      ['an unknown kid', (v) => replacePart(v, 1, 'AAAAAAAA')],
      ['a kid with "../"', (v, k) => replacePart(v, 1, '../' + k.slice(3))],
      ['an oversized kid', (v) => replacePart(v, 1, 'A'.repeat(4000))],
      ['no separator', (v) => v.replace(/\./g, '')],
      ['a separator only', () => '.'],
      ['separators only', () => '...'],
      ['the version and kid alone', (_v, k) => `s1.${k}`],
      ['empty payload and MAC', (_v, k) => `s1.${k}..`],
      ['one character past the maximum length', (v) => replacePart(v, 2, 'A'.repeat(8192))],
    ]

    it.each(hostile)('opens %s to null', async (_name, make) => {
      const forged = make(value, kid)
      expect(forged).not.toBe(value)
      expect(await s.open(forged)).toBeNull()
    })

    it('opens a payload re-encoded in the standard base64 alphabet to null', async () => {
      let sealed = value
      let n = 0
      while (!/[-_]/.test(sealed.split('.')[2]!)) sealed = await s.seal(`${PLAINTEXT}~~~?>${n++}`)
      const payload = standardBase64(spec.unb64(sealed.split('.')[2]!)).replace(/=+$/, '')
      expect(await s.open(replacePart(sealed, 2, payload))).toBeNull()
    })
  })
})

describe('across implementations', () => {
  it.each(MODES)('web opens what node sealed in %s mode', async (mode) => {
    const sealing = await nodeProvider.createSealer({ keys: [KEY_A], mode, cookieName: 'id' })
    const opening = await webProvider.createSealer({ keys: [KEY_B, KEY_A], mode, cookieName: 'id' })
    expect(await opening.open(await sealing.seal(PLAINTEXT))).toEqual({ plaintext: PLAINTEXT, stale: true })
  })

  it.each(MODES)('node opens what web sealed in %s mode', async (mode) => {
    const sealing = await webProvider.createSealer({ keys: [KEY_A], mode, cookieName: 'id' })
    const opening = await nodeProvider.createSealer({ keys: [KEY_A, KEY_B], mode, cookieName: 'id' })
    expect(await opening.open(await sealing.seal(PLAINTEXT))).toEqual({ plaintext: PLAINTEXT, stale: false })
  })

  it.each(MODES)('both derive the same signed value or key id in %s mode', async (mode) => {
    const node = await nodeProvider.createSealer({ keys: [KEY_C], mode, cookieName: 'id' })
    const web = await webProvider.createSealer({ keys: [KEY_C], mode, cookieName: 'id' })
    const [fromNode, fromWeb] = [await node.seal('same'), await web.seal('same')]
    if (mode === 'signed') expect(fromWeb).toBe(fromNode)
    else expect(fromWeb.split('.')[1]).toBe(fromNode.split('.')[1])
  })
})

describe('the node crypto provider', () => {
  it.each(MODES)('answers synchronously in %s mode', (mode) => {
    const s = nodeProvider.createSealer({ keys: [KEY_A], mode, cookieName: 'id' }) as CookieSealer
    expect(s).not.toBeInstanceOf(Promise)
    const value = s.seal('sync')
    expect(typeof value).toBe('string')
    expect(s.open(value as string)).toEqual({ plaintext: 'sync', stale: false })
  })
})

describe.each([nodeProvider, webProvider])('creating a $name sealer', (provider: CryptoProvider) => {
  it('refuses an empty key ring', async () => {
    await expect(Promise.resolve().then(() => provider.createSealer({ keys: [], mode: 'private', cookieName: 'id' }))).rejects.toThrow(RangeError)
  })
})

function flipBit(bytes: Uint8Array, index: number): Buffer {
  const copy = Buffer.from(bytes)
  copy[index] = copy[index]! ^ 0x01
  return copy
}

function withBoxText(value: string, body: string): string {
  return replacePart(value, 2, body)
}

describe('keyIdOf', () => {
  it('reads the key id of either format, and nothing from a value of another shape', async () => {
    for (const mode of ['private', 'signed'] as const) {
      const sealer = await nodeProvider.createSealer({ keys: [KEY_A], mode, cookieName: 'id' })
      const value = await sealer.seal('hello')
      expect(keyIdOf(value)).toBe(value.split('.')[1])
      expect(keyIdOf(value)).toHaveLength(8)
    }
    expect(keyIdOf('e1.abcdefgh')).toBe('abcdefgh')
    expect(keyIdOf('e1.abcdefg.xyz')).toBeUndefined()
    expect(keyIdOf('e1.abcdefghi.xyz')).toBeUndefined()
    expect(keyIdOf('x1.abcdefgh.xyz')).toBeUndefined()
    expect(keyIdOf('e1abcdefgh.xyz')).toBeUndefined()
    expect(keyIdOf('')).toBeUndefined()
  })
})
