// The express-session reader on its own and through the manager (framework-free `handle()`), with
// express-session's own signing code and its own MemoryStore (a real store, in process).
import { createRequire } from 'node:module'
import session from 'express-session'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { createManager } from '../../src/core/manager.js'
import { ConfigError } from '../../src/core/errors.js'
import type { Json } from '../../src/core/json.js'
import type { SessionOptions } from '../../src/core/options.js'
import { generateKey } from '../../src/crypto/keys.js'
import { cryptoProvider as webCrypto } from '../../src/crypto/web.js'
import { expressSession } from '../../src/migrations/express-session/index.js'
import { liveRecord } from '../../src/migrations/express-session/old-record.js'
import { importSecrets, verifiedSid } from '../../src/migrations/express-session/signed-cookie.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { waitFor } from '../support/wait.js'

// The very module express-session signs its cookies with.
const require = createRequire(import.meta.url)
const signature = require('express-session/node_modules/cookie-signature') as { sign(value: string, secret: string): string }

const SECRET = 'keyboard cat'
const KEY = generateKey()

/** The Cookie-header value express-session sets for `sid` (it percent-encodes the signed value). */
function oldCookieValue(sid: string, secret = SECRET): string {
  return encodeURIComponent(`s:${signature.sign(sid, secret)}`)
}

/** express-session's MemoryStore holding `records` by sid, as express-session saves them. */
async function oldStoreWith(records: Record<string, Record<string, unknown>>): Promise<session.MemoryStore> {
  const store = new session.MemoryStore()
  for (const [sid, data] of Object.entries(records)) {
    await new Promise<void>((resolve, reject) => store.set(sid, { cookie: { originalMaxAge: null, expires: null, path: '/', httpOnly: true }, ...data } as never, (error) => (error ? reject(error) : resolve())))
  }
  return store
}

function oldRecord(store: session.MemoryStore, sid: string): Promise<unknown> {
  return new Promise((resolve, reject) => store.get(sid, (error, value) => (error ? reject(error) : resolve(value ?? null))))
}

describe('reading express-session cookies', () => {
  it('verifies what express-session signs, under any of its secrets, and nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 64 }).filter((sid) => !sid.includes('.')),
        fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        async (sid, secrets, pick) => {
          const keys = await importSecrets(secrets)()
          const signer = secrets[pick % secrets.length] as string
          const value = oldCookieValue(sid, signer)
          expect(await verifiedSid(value, keys)).toBe(sid)
          // The same bytes unencoded verify too (a client that did not percent-encode).
          expect(await verifiedSid(`s:${signature.sign(sid, signer)}`, keys)).toBe(sid)
          // Any other secret does not.
          expect(await verifiedSid(oldCookieValue(sid, `${signer}!`), await importSecrets(secrets.map((s) => `${s}?`))())).toBe(null)
          // A signature for another sid does not.
          const signed = signature.sign(sid, signer)
          expect(await verifiedSid(encodeURIComponent(`s:${sid}x${signed.slice(sid.length)}`), keys)).toBe(null)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('refuses unsigned, malformed, non-canonical and oversized values without throwing', async () => {
    const keys = await importSecrets([SECRET])()
    const sid = 'abcdefghijklmnopqrstuvwxyz012345'
    const good = oldCookieValue(sid)
    expect(await verifiedSid(good, keys)).toBe(sid)
    const mac = decodeURIComponent(good).slice(sid.length + 3)
    // The last base64 character carries two spare bits: any other value of them is another text for the same bytes.
    const last = mac.at(-1) as string
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    const twin = alphabet[alphabet.indexOf(last) + 1] as string
    for (const value of [
      '',
      sid,
      `s%3A${sid}`,
      `s%3A${sid}.`,
      `s%3A.${mac}`,
      `s%3A${sid}.${mac}=`,
      `s%3A${sid}.${mac.slice(0, -1)}${twin}`,
      `s%3A${sid}.${mac}`.replace('s%3A', 's%3a%'),
      `%E0%A4%A`,
      `s%3A${'a'.repeat(5000)}.${mac}`,
    ]) {
      expect(await verifiedSid(value, keys)).toBe(null)
    }
  })

  it('honours the old record’s cookie.expires and takes only a JSON object', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    const at = (iso: string | null) => ({ cookie: { originalMaxAge: 1000, expires: iso }, user: 'u' })
    expect(liveRecord(at('2026-01-01T00:00:01.000Z'), now)).toEqual(at('2026-01-01T00:00:01.000Z'))
    expect(liveRecord(at('2026-01-01T00:00:00.000Z'), now)).toBe(null)
    expect(liveRecord(at('2025-12-31T23:00:00.000Z'), now)).toBe(null)
    expect(liveRecord(at('not a date'), now)).toBe(null)
    expect(liveRecord(at(null), now)).toEqual(at(null))
    expect(liveRecord({ user: 'u' }, now)).toEqual({ user: 'u' })
    expect(liveRecord({ cookie: { expires: new Date(now + 1) }, user: 'u' }, now)).not.toBe(null)
    for (const bad of [null, 'text', 42, ['u'], { cookie: 'x' }, { cookie: [] }, { cookie: { expires: 12 } }]) expect(liveRecord(bad, now)).toBe(null)
  })

  it('throws at start-up for a reader that cannot work', () => {
    const store = new session.MemoryStore()
    expect(() => expressSession({ secret: '', store })).toThrow(ConfigError)
    expect(() => expressSession({ secret: [], store })).toThrow(/secret/)
    expect(() => expressSession({ secret: SECRET, store: {} as never })).toThrow(/store/)
    expect(() => expressSession({ secret: SECRET, store, name: 'bad name' })).toThrow(/name/)
    const reader = expressSession({ secret: SECRET, store, name: 'id' })
    expect(() => createSessionManager({ store: new MemoryStore(), keys: [KEY], migrateFrom: reader })).toThrow(/cloakroom's own cookie name/)
    expect(() => createSessionManager({ store: new MemoryStore(), keys: [KEY], migrateFrom: {} as never })).toThrow(/migrateFrom/)
  })
})

describe('the manager with migrateFrom (framework-free)', () => {
  const sid = 'the-old-session-id-0123456789abc'
  const cookieOf = (response: Response, name: string) => response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`))

  async function setup(options: Partial<SessionOptions> = {}, records: Record<string, Record<string, unknown>> = { [sid]: { user: 'ada', cart: ['tea'] } }) {
    const old = await oldStoreWith(records)
    const logs: string[] = []
    const log = (message: string) => void logs.push(message)
    const store = new MemoryStore()
    const manager = createSessionManager<Record<string, Json>>({
      store,
      keys: [KEY],
      logger: { debug: log, warn: log, error: log },
      migrateFrom: expressSession({ secret: SECRET, store: old }),
      ...options,
    })
    const request = (cookie: string, path = '/') => new Request(`http://app.test${path}`, { headers: { cookie } })
    return { old, manager, request, logs, store }
  }

  it('moves the data into a new session even when the handler only writes, and says so once', async () => {
    const { manager, request, old, logs } = await setup()
    const migrated: number[] = []
    manager.on('migrated', ({ at }) => void migrated.push(at))
    const response = await manager.handle(request(`connect.sid=${oldCookieValue(sid)}`), (s) => {
      s.insert('visits', 1)
      return new Response('ok')
    })
    expect(cookieOf(response, 'connect.sid')).toMatch(/^connect\.sid=; Max-Age=0; Path=\//)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await oldRecord(old, sid)).toBe(null)
    const next = await manager.handle(request((cookieOf(response, 'id') as string).split(';')[0] as string), async (s) => Response.json(await s.entries()))
    expect(await next.json()).toEqual({ user: 'ada', cart: ['tea'], visits: 1 })
    expect(migrated.length).toBe(1)
    // No log line holds the old id or the cookie.
    expect(logs.join('\n')).not.toContain(sid)
  })

  it('migrates on a request whose handler never touches the session', async () => {
    const { manager, request, old } = await setup()
    const response = await manager.handle(request(`connect.sid=${oldCookieValue(sid)}`), () => new Response('static'))
    expect(cookieOf(response, 'id')).toBeDefined()
    expect(cookieOf(response, 'connect.sid')).toBeDefined()
    expect(await oldRecord(old, sid)).toBe(null)
  })

  it('leaves the old cookie and record alone on a 5xx, so the next request migrates', async () => {
    const { manager, request, old } = await setup()
    const cookie = `connect.sid=${oldCookieValue(sid)}`
    const failed = await manager.handle(request(cookie), async (s) => {
      expect(await s.get('user')).toBe('ada')
      return new Response('oops', { status: 503 })
    })
    expect(failed.headers.getSetCookie()).toEqual([])
    expect(await oldRecord(old, sid)).not.toBe(null)
    const retried = await manager.handle(request(cookie), async (s) => new Response(String(await s.get('user'))))
    expect(await retried.text()).toBe('ada')
    expect(cookieOf(retried, 'id')).toBeDefined()
  })

  it('logs the user out of both when the migrating request purges', async () => {
    const { manager, request, old, store } = await setup()
    const response = await manager.handle(request(`connect.sid=${oldCookieValue(sid)}`), (s) => {
      s.purge()
      return new Response('bye')
    })
    expect(cookieOf(response, 'connect.sid')).toBeDefined()
    expect(cookieOf(response, 'id')).toBeUndefined()
    expect(await oldRecord(old, sid)).toBe(null)
    expect(store.size).toBe(0)
  })

  it('remembers its claims in process for a store that cannot say what it deleted', async () => {
    const { manager, request } = await setup()
    const cookie = `connect.sid=${oldCookieValue(sid)}`
    let release = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    let read = 0
    const handler = async (s: Parameters<Parameters<typeof manager.handle>[1]>[0]) => {
      const user = await s.get('user')
      read++
      await gate
      return new Response(String(user))
    }
    const pair = [manager.handle(request(cookie), handler), manager.handle(request(cookie), handler)]
    await waitFor(() => read === 2, 'both requests reading the old session')
    release()
    const responses = await Promise.all(pair)
    expect(responses.map((r) => cookieOf(r, 'id') !== undefined).sort()).toEqual([false, true])
  })

  it('answers the error response when the old store fails, and keeps the old cookie; anonymous serves an empty session', async () => {
    const broken = new session.MemoryStore()
    broken.get = (_sid, callback) => callback(new Error('old store down: 10.0.0.7'))
    const request = new Request('http://app.test/', { headers: { cookie: `connect.sid=${oldCookieValue(sid)}` } })
    const quiet = { debug: () => {}, warn: () => {}, error: () => {} }
    for (const onStoreError of ['error', 'anonymous'] as const) {
      const manager = createSessionManager({ store: new MemoryStore(), keys: [KEY], logger: quiet, onStoreError, migrateFrom: expressSession({ secret: SECRET, store: broken }) })
      const response = await manager.handle(request, async (s) => new Response(JSON.stringify(await s.entries())))
      expect(response.status).toBe(onStoreError === 'error' ? 500 : 200)
      expect(await response.text()).toBe(onStoreError === 'error' ? '' : '{}')
      expect(response.headers.getSetCookie()).toEqual([])
    }
  })

  it('skips data that is not JSON, or that mapData refuses', async () => {
    const old = await oldStoreWith({ a: { user: 'a' }, b: { user: 'b' } })
    const manager = createSessionManager({
      store: new MemoryStore(),
      keys: [KEY],
      migrateFrom: expressSession({ secret: SECRET, store: old, mapData: (record) => (record['user'] === 'a' ? null : { user: record['user'] ?? null, when: Number.NaN }) }),
    })
    for (const id of ['a', 'b']) {
      const response = await manager.handle(new Request('http://app.test/', { headers: { cookie: `connect.sid=${oldCookieValue(id)}` } }), async (s) => Response.json(await s.entries()))
      expect(await response.json()).toEqual({})
      expect(cookieOf(response, 'id')).toBeUndefined()
      expect(cookieOf(response, 'connect.sid')).toBeDefined()
    }
  })

  it('reads old data as a record of version 0 under the version option, and stores the current version', async () => {
    const old = await oldStoreWith({ [sid]: { userName: 'ada' } })
    const versions: number[] = []
    const store = new MemoryStore()
    const manager = createSessionManager<{ user?: string }>({
      store,
      keys: [KEY],
      version: 2,
      migrate: (data, version) => {
        versions.push(version)
        return { user: String(data['userName']) }
      },
      migrateFrom: expressSession({ secret: SECRET, store: old }),
    })
    const response = await manager.handle(new Request('http://app.test/', { headers: { cookie: `connect.sid=${oldCookieValue(sid)}` } }), async (s) => Response.json(await s.entries()))
    expect(await response.json()).toEqual({ user: 'ada' })
    expect(versions).toEqual([0])
    const next = await manager.handle(new Request('http://app.test/', { headers: { cookie: (cookieOf(response, 'id') as string).split(';')[0] as string } }), async (s) => Response.json(await s.entries()))
    expect(await next.json()).toEqual({ user: 'ada' })
    // Stored at the current version: the second read did not migrate again.
    expect(versions).toEqual([0])
  })

  it('works over WebCrypto (edge runtimes) as over node:crypto', async () => {
    const old = await oldStoreWith({ [sid]: { user: 'ada' } })
    const manager = createManager({ store: new MemoryStore(), keys: [KEY], migrateFrom: expressSession({ secret: SECRET, store: old }) }, webCrypto)
    const response = await manager.handle(new Request('http://app.test/', { headers: { cookie: `connect.sid=${oldCookieValue(sid)}` } }), async (s) => new Response(String(await s.get('user'))))
    expect(await response.text()).toBe('ada')
    expect(cookieOf(response, 'id')).toBeDefined()
  })
})
