// session.origin(): where a request's session came from (created, absolute end, the key that opened
// its cookie), read through a real manager, store and crypto: across a renew, a key rotation, and
// the cases where no live session came in.
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import type { SessionOrigin } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader, sessionCookie } from '../support/http.js'

type Data = { n?: number }

function app(store: SessionStore, keys: string[], absoluteTimeout?: number) {
  const manager = createSessionManager<Data>({ store, keys, ...(absoluteTimeout === undefined ? {} : { absoluteTimeout }) })
  /** One request: writes `n` (or renews), answers with what origin() said. */
  return async (cookie: string | undefined, action: 'write' | 'renew' | 'read' = 'read'): Promise<{ response: Response; origin: SessionOrigin | null }> => {
    let origin: SessionOrigin | null = null
    const response = await manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), async (session) => {
      origin = await session.origin()
      if (action !== 'read') session.insert('n', 1)
      if (action === 'renew') session.renew()
      return new Response('ok')
    })
    return { response, origin }
  }
}

/** The key id the cookie format carries in clear: `e1.<kid>.…`. */
const keyIdIn = (cookie: string): string => cookie.split('=')[1]!.split('.')[1]!

describe('session.origin()', () => {
  for (const [name, make] of [
    ['memory', () => new MemoryStore()],
    ['cookie', () => new CookieStore()],
  ] as const) {
    it(`${name} store: null without a session; then createdAt, absolute end and the opening key, kept across a renew`, async () => {
      const request = app(make(), [generateKey()], 3600)
      const first = await request(undefined, 'write')
      expect(first.origin).toBeNull()
      const cookie = cookieHeader(first.response)

      const before = Date.now()
      const second = await request(cookie)
      expect(second.origin).not.toBeNull()
      const origin = second.origin!
      expect(origin.keyId).toBe(keyIdIn(cookie))
      expect(origin.keyId).toMatch(/^[A-Za-z0-9_-]{8}$/)
      expect(origin.staleKey).toBe(false)
      expect(origin.createdAt).toBeLessThanOrEqual(before)
      expect(origin.absoluteExpiresAt).toBe(origin.createdAt + 3600 * 1000)

      const renewed = await request(cookie, 'renew')
      const newCookie = cookieHeader(renewed.response)
      expect(newCookie).not.toBe(cookie)
      expect((await request(newCookie)).origin).toEqual(origin)
    })
  }

  it('names the older key that opened a cookie after a rotation, and the newest once re-sealed', async () => {
    const store = new MemoryStore()
    const [oldKey, newKey] = [generateKey(), generateKey()]
    const before = await app(store, [oldKey])(undefined, 'write')
    const oldCookie = cookieHeader(before.response)

    const rotated = app(store, [newKey, oldKey])
    const read = await rotated(oldCookie)
    expect(read.origin).toMatchObject({ keyId: keyIdIn(oldCookie), staleKey: true })
    const resealed = cookieHeader(read.response)
    expect(keyIdIn(resealed)).not.toBe(keyIdIn(oldCookie))
    expect((await rotated(resealed)).origin).toMatchObject({ keyId: keyIdIn(resealed), staleKey: false })
  })

  it('is null for a forged cookie, a cookie under an unknown key, and a purged session', async () => {
    const store = new MemoryStore()
    const key = generateKey()
    const request = app(store, [key])
    const cookie = cookieHeader((await request(undefined, 'write')).response)
    const value = cookie.slice('id='.length)
    const forged = `id=${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`
    expect((await request(forged)).origin).toBeNull()
    expect((await app(store, [generateKey()])(cookie)).origin).toBeNull()

    const manager = createSessionManager({ store, keys: [key] })
    const logout = await manager.handle(new Request('http://localhost/', { headers: { cookie } }), (session) => {
      session.purge()
      return new Response('bye')
    })
    expect(sessionCookie(logout)?.maxAge).toBe(0)
    expect((await request(cookie)).origin).toBeNull()
  })
})
