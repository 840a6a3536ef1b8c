import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { keyBytes } from './keys.js'
import { cryptoProvider as nodeProvider } from './node.js'
import type { ContentSecurity, CookieSealer } from './types.js'
import { cryptoProvider as webProvider } from './web.js'

const KEY = keyBytes('property key: thirty-two bytes or more of material')
const COOKIE = 'id'
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
// Replacement characters for a flipped character: the base64url alphabet, the separator, and a few
// that a careless decoder would accept or skip.
const REPLACEMENTS = [...ALPHABET, '.', '=', '+', '/', ' ', '%', '\u00e9']

/** Any text, full unicode included (code points, never lone surrogates, which the core refuses). */
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.string())

function toBytes(text: string): Buffer {
  return Buffer.from(text, 'base64url')
}

// With the cache of opened values off (each open is real cryptography) and on (it must change nothing).
const VARIANTS = [nodeProvider, webProvider].flatMap((provider) => [
  { provider, name: provider.name, cache: 'uncached', openedCache: false as const },
  { provider, name: provider.name, cache: 'cached', openedCache: undefined },
])

describe.each(VARIANTS)('the $name crypto provider, $cache', ({ provider, openedCache }) => {
  describe.each(['private', 'signed'] as const)('in %s mode', (mode: ContentSecurity) => {
    let sealer: CookieSealer
    beforeAll(async () => {
      sealer = await provider.createSealer({ keys: [KEY], mode, cookieName: COOKIE, ...(openedCache === false ? { openedCache } : {}) })
    })

    it('round-trips any string', async () => {
      await fc.assert(
        fc.asyncProperty(anyText, async (text) => {
          expect(await sealer.open(await sealer.seal(text))).toEqual({ plaintext: text, stale: false })
        }),
        { numRuns: 300 },
      )
    })

    it('opens a value with any single bit flipped in the decoded bytes of any part to null', async () => {
      await fc.assert(
        fc.asyncProperty(anyText, fc.nat(), fc.nat(), async (text, partPick, bitPick) => {
          const parts = (await sealer.seal(text)).split('.')
          const index = partPick % parts.length
          // The version tag is plain ASCII, not base64url: flip a bit of its characters instead.
          const bytes = index === 0 ? Buffer.from(parts[0]!, 'latin1') : toBytes(parts[index]!)
          fc.pre(bytes.length > 0)
          const bit = bitPick % (bytes.length * 8)
          bytes[bit >>> 3] = bytes[bit >>> 3]! ^ (1 << (bit & 7))
          parts[index] = index === 0 ? bytes.toString('latin1') : bytes.toString('base64url')
          expect(await sealer.open(parts.join('.'))).toBeNull()
        }),
        { numRuns: 400 },
      )
    })

    it('opens a value with any single character replaced to null', async () => {
      await fc.assert(
        fc.asyncProperty(anyText, fc.nat(), fc.constantFrom(...REPLACEMENTS), async (text, positionPick, replacement) => {
          const value = await sealer.seal(text)
          const position = positionPick % value.length
          fc.pre(value[position] !== replacement)
          const forged = value.slice(0, position) + replacement + value.slice(position + 1)
          expect(await sealer.open(forged)).toBeNull()
        }),
        { numRuns: 400 },
      )
    })

    it('opens a value under any other cookie name to null', async () => {
      await fc.assert(
        fc.asyncProperty(anyText, fc.string({ unit: 'binary', maxLength: 40 }), async (text, name) => {
          fc.pre(name !== COOKIE)
          const other = await provider.createSealer({ keys: [KEY], mode, cookieName: name })
          expect(await other.open(await sealer.seal(text))).toBeNull()
        }),
        { numRuns: 200 },
      )
    })
  })
})
