import { createDecipheriv, createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import type { SessionOptions } from '../../src/core/options.js'
import { createManager } from '../../src/core/manager.js'
import { cryptoProvider as webCrypto } from '../../src/crypto/web.js'
import { createSessionManager } from '../../src/create.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

interface Vectors {
  keys: { mode: 'raw' | 'derive'; secret: string; signing: string; encryption: string }[]
  private: { key: number; name: string; plaintext: string; value: string; wire: string }[]
  signed: { key: number; plaintext: string; value: string; wire: string; wire_0_16_0: string }[]
  negative_private: { case: string; key: number; name: string; value: string; opens: boolean }[]
}

// Made by test/actix/vectors/make-vectors.py, an implementation independent of cloakroom's.
const vectors = JSON.parse(readFileSync(new URL('./vectors/vectors.json', import.meta.url), 'utf8')) as Vectors
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'))
const STATE = '{"counter":"1","user":"\\"ferris\\""}'
const CLOAKROOM_KEY = 'cloakroom-own-key-0123456789abcdefghijklmnop'

type Data = { counter?: number; user?: string }

function manager(key: number, extra: Partial<SessionOptions<Data>> = {}) {
  const entry = vectors.keys[key]!
  return createSessionManager<Data>({ store: new CookieStore(), keys: [bytes(entry.secret)], actixSession: { key: entry.mode }, ...extra })
}

/** The plaintext of a private value, opened with the independent key and plain AES-GCM (not cloakroom's code). */
function openPrivate(key: number, name: string, wire: string): string {
  const box = Buffer.from(decodeURIComponent(wire), 'base64')
  const decipher = createDecipheriv('aes-256-gcm', bytes(vectors.keys[key]!.encryption), box.subarray(0, 12))
  decipher.setAAD(Buffer.from(name))
  decipher.setAuthTag(box.subarray(box.length - 16))
  return Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]).toString('utf8')
}

function setCookie(response: Response): string[] {
  return response.headers.getSetCookie()
}

function valueOf(line: string, name = 'id'): string {
  expect(line.startsWith(`${name}=`)).toBe(true)
  return line.slice(name.length + 1, line.indexOf(';'))
}

const counterRoute = async (session: { get(k: 'counter'): Promise<number | undefined>; insert(k: 'counter', v: number): void }) => {
  const counter = ((await session.get('counter')) ?? 0) + 1
  session.insert('counter', counter)
  return new Response(String(counter))
}

describe.each([0, 1])('actixSession with CookieStore, private (key %i)', (key) => {
  const cookie = vectors.private.find((v) => v.key === key && v.name === 'id' && v.plaintext === STATE)!

  it("opens a session cookie actix-session wrote, and writes one actix-session opens with the new state", async () => {
    const sessions = manager(key)
    const request = new Request('http://app.test/', { headers: { cookie: `other=1; id=${cookie.wire}` } })
    const response = await sessions.handle(request, async (session) => {
      expect(await session.get('user')).toBe('ferris')
      return counterRoute(session)
    })
    expect(await response.text()).toBe('2')
    const [line] = setCookie(response)
    expect(line).toMatch(/; Path=\/(;|$)/)
    expect(line).toMatch(/HttpOnly/)
    expect(line).not.toMatch(/Max-Age/)
    // The value is percent-encoded base64 ('/' and '=' as %2F and %3D), as Cookie::encoded() writes it.
    const wire = valueOf(line!)
    expect(wire).toMatch(/^[A-Za-z0-9+%]+$/)
    expect(JSON.parse(openPrivate(key, 'id', wire))).toEqual({ counter: '2', user: '"ferris"' })
  })

  it('a renamed cookie is no session: the name is the associated data', async () => {
    const sessions = manager(key, { cookie: { name: 'sid' } })
    const response = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `sid=${cookie.wire}` } }), counterRoute)
    expect(await response.text()).toBe('1')
  })

  it('renew issues a new value holding the same state; purge sends a removal cookie', async () => {
    const sessions = manager(key)
    const renewed = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${cookie.wire}` } }), async (session) => {
      session.renew()
      return new Response('ok')
    })
    const wire = valueOf(setCookie(renewed)[0]!)
    expect(wire).not.toBe(cookie.wire)
    expect(JSON.parse(openPrivate(key, 'id', wire))).toEqual({ counter: '1', user: '"ferris"' })
    const purged = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${wire}` } }), async (session) => {
      session.purge()
      return new Response('bye')
    })
    expect(setCookie(purged)[0]).toMatch(/^id=; .*Max-Age=0/)
  })
})

describe('actixSession on the WebCrypto implementation (workerd and other edge runtimes)', () => {
  it.each(['private', 'signed'] as const)('%s: opens the independent cookie and writes what the independent check opens', async (contentSecurity) => {
    const sessions = createManager<Data>({ store: new CookieStore(), keys: [bytes(vectors.keys[1]!.secret)], contentSecurity, actixSession: { key: 'derive' } }, webCrypto)
    const wire = contentSecurity === 'private'
      ? vectors.private.find((v) => v.key === 1 && v.name === 'id' && v.plaintext === STATE)!.wire
      : vectors.signed.find((v) => v.key === 1 && v.plaintext === STATE)!.wire
    const response = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${wire}` } }), counterRoute)
    expect(await response.text()).toBe('2')
    const out = decodeURIComponent(valueOf(setCookie(response)[0]!))
    const state = '{"counter":"2","user":"\\"ferris\\""}'
    if (contentSecurity === 'private') expect(openPrivate(1, 'id', out)).toBe(state)
    else expect(out).toBe(createHmac('sha256', bytes(vectors.keys[1]!.signing)).update(state).digest('base64') + state)
  })
})

describe('actixSession with CookieStore, signed', () => {
  const cookie = vectors.signed.find((v) => v.key === 0 && v.plaintext === STATE)!

  it('opens both percent-encodings, and writes exactly the value the independent HMAC gives', async () => {
    for (const wire of [cookie.wire, cookie.wire_0_16_0]) {
      const sessions = manager(0, { contentSecurity: 'signed', lifecycle: { type: 'persistent', ttl: 3600 } })
      const response = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${wire}` } }), counterRoute)
      expect(await response.text()).toBe('2')
      const [line] = setCookie(response)
      expect(line).toMatch(/Max-Age=3600/)
      const state = '{"counter":"2","user":"\\"ferris\\""}'
      const mac = createHmac('sha256', bytes(vectors.keys[0]!.signing)).update(state).digest('base64')
      expect(decodeURIComponent(valueOf(line!))).toBe(mac + state)
    }
  })

  it('a signed value is valid under another cookie name too (the name is not signed)', async () => {
    const sessions = manager(0, { contentSecurity: 'signed', cookie: { name: 'other' } })
    const response = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `other=${cookie.wire}` } }), counterRoute)
    expect(await response.text()).toBe('2')
  })
})

describe('actixSession: bad cookies are no session, never an error', () => {
  const cases: { what: string; key: number; name: string; value: string }[] = [
    ...vectors.negative_private.filter((v) => !v.opens).map((v) => ({ what: v.case, key: v.key, name: v.name, value: encodeURIComponent(v.value) })),
    { what: 'not percent-decodable to UTF-8', key: 0, name: 'id', value: '%FF%FE%FD' },
    { what: 'a lone quote', key: 0, name: 'id', value: '"' },
    { what: '4097 characters', key: 0, name: 'id', value: 'A'.repeat(4097) },
    { what: 'base64 of garbage', key: 0, name: 'id', value: Buffer.from('x'.repeat(60)).toString('base64') },
  ]
  for (const { what, key, name, value } of cases) {
    it(what, async () => {
      const sessions = manager(key, { cookie: { name } })
      const response = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `${name}=${value}` } }), async (session) => {
        expect(await session.get('counter')).toBeUndefined()
        return new Response('fresh')
      })
      expect(response.status).toBe(200)
      expect(setCookie(response)).toEqual([])
    })
  }

  it('the controls of the same set open (so the cases above fail for the reason they name)', async () => {
    for (const v of vectors.negative_private.filter((n) => n.opens)) {
      const sessions = createSessionManager<{ x?: number }>({ store: new CookieStore(), keys: [bytes(vectors.keys[v.key]!.secret)], actixSession: { key: 'raw' } })
      // The plaintext is a session key, not a state: the cookie store reads it as an empty state, whose key it keeps.
      const response = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${encodeURIComponent(v.value)}` } }), async (session) => {
        session.insert('x', 1)
        return new Response('ok')
      })
      expect(JSON.parse(openPrivate(0, 'id', valueOf(setCookie(response)[0]!)))).toEqual({ x: '1' })
    }
  })
})

describe('actixSession: { write: false } moves actix-session cookies to cloakroom format', () => {
  const cookie = vectors.private.find((v) => v.key === 0 && v.name === 'id' && v.plaintext === STATE)!
  const options = { store: new CookieStore(), keys: [CLOAKROOM_KEY, bytes(vectors.keys[0]!.secret)], actixSession: { key: 'raw' as const, write: false } }

  it('reads the actix-session cookie and answers with a cloakroom cookie that holds the same session', async () => {
    const sessions = createSessionManager<Data>(options)
    const first = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${cookie.wire}` } }), counterRoute)
    expect(await first.text()).toBe('2')
    const wire = valueOf(setCookie(first)[0]!)
    expect(wire.startsWith('e1.')).toBe(true)
    const second = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${wire}` } }), async (session) => {
      expect(await session.get('user')).toBe('ferris')
      return counterRoute(session)
    })
    expect(await second.text()).toBe('3')
  })

  it('moves the session even on a request that does not touch it', async () => {
    const sessions = createSessionManager<Data>(options)
    const response = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${cookie.wire}` } }), async () => new Response('static'))
    const wire = valueOf(setCookie(response)[0]!)
    expect(wire.startsWith('e1.')).toBe(true)
    const next = await sessions.handle(new Request('http://app.test/', { headers: { cookie: `id=${wire}` } }), async (session) => new Response(String(await session.get('counter'))))
    expect(await next.text()).toBe('1')
    expect(setCookie(next)).toEqual([])
  })

  it('leaves requests with cloakroom cookies, or none, as they were', async () => {
    const sessions = createSessionManager<Data>(options)
    const untouched = await sessions.handle(new Request('http://app.test/'), async () => new Response('x'))
    expect(setCookie(untouched)).toEqual([])
    const forged = await sessions.handle(new Request('http://app.test/', { headers: { cookie: 'id=AAAA' } }), async (session) => new Response(String(await session.get('counter'))))
    expect(await forged.text()).toBe('undefined')
    expect(setCookie(forged)).toEqual([])
  })
})

describe("actixSession writing actix-session's format moves cloakroom's own cookies over", () => {
  it('a cookie cloakroom wrote before the switch opens, and the answer is an actix-session cookie with the same state', async () => {
    const before = createSessionManager<Data>({ store: new CookieStore(), keys: [CLOAKROOM_KEY] })
    const made = await before.handle(new Request('http://app.test/'), counterRoute)
    const own = valueOf(setCookie(made)[0]!)
    expect(own.startsWith('e1.')).toBe(true)
    const after = createSessionManager<Data>({ store: new CookieStore(), keys: [bytes(vectors.keys[0]!.secret), CLOAKROOM_KEY], actixSession: { key: 'raw' } })
    const moved = await after.handle(new Request('http://app.test/', { headers: { cookie: `id=${own}` } }), async () => new Response('static'))
    const wire = valueOf(setCookie(moved)[0]!)
    expect(JSON.parse(openPrivate(0, 'id', wire))).toEqual({ counter: '1' })
    const next = await after.handle(new Request('http://app.test/', { headers: { cookie: `id=${wire}` } }), counterRoute)
    expect(await next.text()).toBe('2')
  })

  it('without the old key in keys, the old cookie is no session', async () => {
    const before = createSessionManager<Data>({ store: new CookieStore(), keys: [CLOAKROOM_KEY] })
    const own = valueOf(setCookie(await before.handle(new Request('http://app.test/'), counterRoute))[0]!)
    const after = manager(0)
    const response = await after.handle(new Request('http://app.test/', { headers: { cookie: `id=${own}` } }), counterRoute)
    expect(await response.text()).toBe('1')
  })
})

describe('actixSession: configuration', () => {
  const raw = bytes(vectors.keys[0]!.secret)
  const cases: [string, SessionOptions<Data>, RegExp][] = [
    ['a store actix-session does not share', { store: new MemoryStore(), keys: [raw], actixSession: { key: 'raw' } }, /CookieStore and RedisStore only/],
    ['a raw key under 64 bytes', { store: new CookieStore(), keys: [CLOAKROOM_KEY], actixSession: { key: 'raw' } }, /at least 64 bytes/],
    ['userKey', { store: new CookieStore(), keys: [raw], userKey: 'user', actixSession: { key: 'raw' } }, /userKey/],
    ['an absolute timeout', { store: new CookieStore(), keys: [raw], absoluteTimeout: 3600, actixSession: { key: 'raw' } }, /absoluteTimeout/],
    ['a prefix with the cookie store', { store: new CookieStore(), keys: [raw], actixSession: { key: 'raw', prefix: 'x:' } }, /RedisStore only/],
    ['an unknown key mode', { store: new CookieStore(), keys: [raw], actixSession: { key: 'hex' as 'raw' } }, /'raw'.*'derive'/],
    ['an unknown option', { store: new CookieStore(), keys: [raw], actixSession: { key: 'raw', name: 'x' } as never }, /unknown option actixSession.name/],
    ['write: false without a key that fits', { store: new CookieStore(), keys: [CLOAKROOM_KEY], actixSession: { key: 'raw', write: false } }, /none of keys/],
  ]
  for (const [what, options, message] of cases) {
    it(`refuses ${what} with a ConfigError`, () => {
      expect(() => createSessionManager<Data>(options)).toThrow(ConfigError)
      expect(() => createSessionManager<Data>(options)).toThrow(message)
    })
  }

  it('takes absoluteTimeout and userKey with write: false (they apply to cloakroom sessions)', () => {
    expect(() => createSessionManager<Data>({ store: new CookieStore(), keys: [CLOAKROOM_KEY, raw], absoluteTimeout: 3600, actixSession: { key: 'raw', write: false } })).not.toThrow()
  })
})
