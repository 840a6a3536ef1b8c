import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBase64, encodeBase64 } from '../../src/actix/base64.js'
import { nodeActixCrypto } from '../../src/actix/crypto-node.js'
import { decodeCookieValue, encodeCookieValue } from '../../src/actix/percent.js'
import { decodeState, encodeState } from '../../src/actix/state.js'
import type { Json } from '../../src/core/json.js'
import type { OpenedValue } from '../../src/crypto/types.js'

const KEY = Uint8Array.from({ length: 64 }, (_, i) => (i * 73 + 11) & 255)

describe('actix-session codec properties', () => {
  it('any session data survives the 0.11 state format, __proto__ keys included', () => {
    const data = fc.dictionary(fc.oneof(fc.string(), fc.constant('__proto__'), fc.constant('v'), fc.constant('state')), fc.jsonValue() as fc.Arbitrary<Json>)
    fc.assert(
      fc.property(data, (value) => {
        const decoded = decodeState(encodeState(value))
        expect(decoded).toEqual(JSON.parse(JSON.stringify(value)))
        expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
      }),
    )
  })

  it('percent-encoding round-trips any text, and its output holds no byte the cookie crate encodes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const wire = encodeCookieValue(text)
        expect(wire).toMatch(/^[!$&'*+\-.0-9A-Z_a-z~%]*$/)
        expect(decodeCookieValue(wire)).toBe(text)
      }),
    )
  })

  it('strict base64 has exactly one text per byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = encodeBase64(bytes)
        expect(text).toBe(Buffer.from(bytes).toString('base64'))
        expect(decodeBase64(text)).toEqual(bytes)
      }),
    )
  })

  it('private and signed values open to what was sealed, and a changed character never opens to something else', async () => {
    for (const mode of ['private', 'signed'] as const) {
      const sealer = nodeActixCrypto.createSealer({ secrets: [KEY], keyMode: 'raw', mode, cookieName: 'id' })
      if (sealer instanceof Promise) throw new Error('node:crypto answers synchronously')
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (text, at, replacement) => {
          const wire = sealer.seal(text) as string
          expect(sealer.open(wire)).toEqual({ plaintext: text, stale: false })
          const index = at % wire.length
          const changed = wire.slice(0, index) + replacement + wire.slice(index + 1)
          const opened = sealer.open(changed) as OpenedValue | null
          // A change that percent-decodes to the same value (%2f for %2F) may open, to the same text only.
          if (opened !== null) expect(opened.plaintext).toBe(text)
        }),
      )
    }
  })
})
