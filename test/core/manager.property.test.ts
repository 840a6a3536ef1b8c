// Property tests at the level a user sees: whatever JSON a handler stores travels through the
// sealed cookie and back unchanged, and any single-bit change or a swapped name opens to "no session".
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { isPortableString } from '../../src/core/json-value.js'
import type { Json } from '../../src/core/json.js'
import type { Session } from '../../src/core/session.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { sessionCookie } from '../support/http.js'

const portable = (text: string): boolean => isPortableString(text)
const jsonString = fc.string({ unit: 'binary', maxLength: 12 }).filter(portable)
const json: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.integer(),
    jsonString,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(jsonString, tie('value'), { maxKeys: 3 }),
  ),
})).value
const sessionData = fc.dictionary(jsonString, json, { maxKeys: 4 })

function app(contentSecurity: 'private' | 'signed', name = 'id', keys = [generateKey()]) {
  const manager = createSessionManager({ store: new CookieStore(), keys, contentSecurity, cookie: { name } })
  const send = (handler: (session: Session) => Response | Promise<Response>, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  return { send, keys }
}

const readAll = async (session: Session): Promise<Response> => Response.json({ entries: await session.entries() })

for (const mode of ['private', 'signed'] as const) {
  describe(`${mode} cookies`, () => {
    const { send, keys } = app(mode)

    it('any JSON data stored by a handler reads back unchanged on the next request', async () => {
      await fc.assert(
        fc.asyncProperty(sessionData, async (data) => {
          fc.pre(Object.keys(data).length > 0)
          const written = await send((session) => {
            for (const [key, value] of Object.entries(data)) session.insert(key, value)
            return new Response('ok')
          })
          const cookie = sessionCookie(written)
          if (written.status === 500) return // a record too large for a cookie is refused, tested elsewhere
          expect(cookie).toBeDefined()
          const read = await send(readAll, `id=${cookie!.value}`)
          expect(((await read.json()) as { entries: unknown }).entries).toEqual(JSON.parse(JSON.stringify(data)))
        }),
        { numRuns: 150 },
      )
    })

    it('any single-bit change anywhere in the cookie value opens to no session', async () => {
      const written = await send((session) => (session.insert('user', 'ferris'), new Response('ok')))
      const value = sessionCookie(written)!.value!
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: value.length * 8 - 1 }), async (bit) => {
          const bytes = new TextEncoder().encode(value)
          bytes[bit >> 3]! ^= 1 << (bit & 7)
          const flipped = new TextDecoder().decode(bytes)
          // Only flips that a client could actually send in a Cookie header (printable ASCII, no separators).
          fc.pre(flipped !== value && /^[\x21-\x7e]*$/.test(flipped) && !/[;,"\\]/.test(flipped))
          const read = await send(readAll, `id=${flipped}`)
          expect(read.status).toBe(200)
          expect(((await read.json()) as { entries: unknown }).entries).toEqual({})
        }),
        { numRuns: 200 },
      )
    })

    it('a value presented under any other cookie name opens to no session', async () => {
      const written = await send((session) => (session.insert('user', 'ferris'), new Response('ok')))
      const value = sessionCookie(written)!.value!
      await fc.assert(
        fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), async (name) => {
          fc.pre(name !== 'id')
          const other = app(mode, name, keys)
          const read = await other.send(readAll, `${name}=${value}`)
          expect(((await read.json()) as { entries: unknown }).entries).toEqual({})
        }),
        { numRuns: 100 },
      )
    })
  })
}

describe('server-store cookies', () => {
  it('any JSON data round-trips through the memory store', async () => {
    const manager = createSessionManager({ store: new MemoryStore(), keys: [generateKey()] })
    await fc.assert(
      fc.asyncProperty(sessionData, async (data) => {
        fc.pre(Object.keys(data).length > 0)
        const written = await manager.handle(new Request('http://localhost/'), (session) => {
          for (const [key, value] of Object.entries(data)) session.insert(key, value)
          return new Response('ok')
        })
        const cookie = sessionCookie(written)!
        const read = await manager.handle(new Request('http://localhost/', { headers: { cookie: `id=${cookie.value}` } }), readAll)
        expect(((await read.json()) as { entries: unknown }).entries).toEqual(JSON.parse(JSON.stringify(data)))
      }),
      { numRuns: 150 },
    )
  })
})
