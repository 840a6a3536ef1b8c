// Issue-level guarantees of the server stores, over real HTTP with real concurrent requests, for
// every store: different keys changed by overlapping requests both land; the same key is last
// writer wins; a purge wins against a slow request that loaded before it, under the old id or a
// new one; renew deletes the old record; a request renewed away leaves the cookie alone; a login
// after the record expired works at once; a lowered absolute timeout ends existing sessions; a flash
// message is delivered once when two requests race for it (the cookie store: the documented limit).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessions } from '../../src/adapters/hono/index.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import { SqliteStore } from '../../src/stores/sqlite/index.js'
import type { RunningApp } from '../../src/testing/adapter-conformance.js'
import { overHttp } from '../support/harness.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { findTestPostgres, openTestSchema, type TestSchema } from '../support/postgres.js'
import { deletePrefix, openClient, uniquePrefix, type OpenClient } from '../support/redis-clients.js'
import { redisAnswers } from '../support/redis-process.js'
import { gate, type Gate } from '../support/wait.js'

interface StoreUnderTest {
  name: string
  make(): Promise<SessionStore>
}

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const storesUnderTest: StoreUnderTest[] = [{ name: 'memory', make: async () => new MemoryStore() }]

{
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-http-sqlite-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  storesUnderTest.push({
    name: 'sqlite',
    make: async () => {
      const db = new Database(join(dir, `s${n++}.db`))
      cleanups.push(async () => void db.close())
      const store = new SqliteStore({ db })
      await store.migrate()
      return store
    },
  })
}

if (await redisAnswers(6379)) {
  for (const kind of ['node-redis', 'ioredis'] as const) {
    let client: OpenClient | undefined
    const prefix = uniquePrefix()
    cleanups.push(async () => {
      await deletePrefix([6379], prefix)
      await client?.close()
    })
    storesUnderTest.push({
      name: `redis (${kind})`,
      make: async () => {
        client ??= await openClient(kind, [6379])
        return new RedisStore({ client: client.client, prefix })
      },
    })
  }
} else if (process.env.CI === 'true') {
  throw new Error('Redis at 127.0.0.1:6379 is missing; CI needs it')
} else {
  console.warn('\n!!!!! SKIPPING the HTTP-level Redis store tests: Redis at 127.0.0.1:6379 is missing !!!!!\n')
}

const postgres = await findTestPostgres()
if (postgres !== null) {
  let run: TestSchema | undefined
  cleanups.push(async () => run?.drop())
  storesUnderTest.push({
    name: 'postgres',
    make: async () => {
      run ??= await openTestSchema(postgres)
      const store = new PostgresStore({ pool: run.pool, schema: run.schema, table: run.freshTable() })
      await store.migrate()
      return store
    },
  })
}

const KEY = generateKey()

/** Polls `condition` until it holds (the backend judges expiry by its own clock), failing after `timeoutMs`. */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function app(store: SessionStore, gates: Map<string, Gate>, options: Partial<SessionOptions> = {}): Hono {
  const hono = new Hono()
  hono.use(sessions({ store, keys: [KEY], ...options }))
  hono.post('/login', (c) => {
    c.get('session').insert('user', 'ferris')
    return c.text('ok')
  })
  // The README's login: no read first.
  hono.post('/sign-in', (c) => {
    const session = c.get('session')
    session.insert('user', 'ferris')
    session.renew()
    return c.text('ok')
  })
  // Reads the session, waits at the named gate if any (so that requests overlap), then writes one key.
  hono.post('/set/:key/:value', async (c) => {
    const session = c.get('session')
    await session.get('user')
    const name = c.req.query('gate')
    const held = name === undefined ? undefined : gates.get(name)
    if (held) await held.pass()
    session.insert(c.req.param('key'), c.req.param('value'))
    return c.text('ok')
  })
  hono.post('/logout', (c) => {
    c.get('session').purge()
    return c.text('bye')
  })
  hono.post('/renew', (c) => {
    c.get('session').renew()
    return c.text('renewed')
  })
  hono.get('/entries', async (c) => c.json(await c.get('session').entries()))
  // Post, redirect, get: the flash is left on the POST and read on the page the redirect leads to.
  hono.post('/flash/:value', (c) => {
    c.get('session').flash('notice', c.req.param('value'))
    return c.redirect('/notice', 303)
  })
  // Loads the session, waits at the named gate if any (so that requests overlap), then takes the flash.
  hono.get('/notice', async (c) => {
    const session = c.get('session')
    await session.entries()
    const held = gates.get(c.req.query('gate') ?? '')
    if (held) await held.pass()
    const notice = (await session.takeFlash('notice')) ?? null
    if (c.req.query('reflash') !== undefined) session.reflash()
    return c.json({ notice })
  })
  hono.get('/devices', async (c) => c.json(await c.get('session').listUserSessions()))
  hono.post('/sign-out-others', async (c) => c.json(await c.get('session').revokeOtherUserSessions()))
  return hono
}

const withCookieStore: StoreUnderTest[] = [...storesUnderTest, { name: 'cookie', make: async () => new CookieStore() }]

for (const underTest of withCookieStore) {
  describe(`${underTest.name} store over HTTP: flash messages`, () => {
    let server: RunningApp
    // Every store but the cookie store keeps server state and takes a flash atomically.
    const serverSide = underTest.name !== 'cookie'
    const gates = new Map<string, Gate>()
    beforeAll(async () => {
      server = await overHttp(app(await underTest.make(), gates).fetch)
    })
    afterAll(async () => server.close())

    const send = (method: string, path: string, cookie?: string): Promise<Response> =>
      server.fetch(new Request(`http://localhost${path}`, { method, headers: cookie ? { cookie } : {} }))
    const notice = async (response: Response): Promise<string | null> => ((await response.json()) as { notice: string | null }).notice
    /** The cookie to send next: the response's, when it set one. */
    const next = (response: Response, cookie: string): string => (sessionCookie(response) === undefined ? cookie : cookieHeader(response))

    it('a flash left before a redirect is read once on the page it leads to', async () => {
      const posted = await send('POST', '/flash/saved')
      expect(posted.status).toBe(303)
      expect(posted.headers.get('location')).toBe('/notice')
      const cookie = cookieHeader(posted)
      const shown = await send('GET', '/notice', cookie)
      expect(await notice(shown)).toBe('saved')
      expect(await notice(await send('GET', '/notice', next(shown, cookie)))).toBeNull()
    })

    it(
      serverSide ? 'two requests racing for one flash, both loaded before either took it: exactly one gets it' : 'two requests racing for one flash with the same cookie: both get it (the cookie store keeps no server state)',
      async () => {
        const cookie = cookieHeader(await send('POST', '/flash/once'))
        const held = [gate(), gate()]
        held.forEach((stop, i) => gates.set(`race-${underTest.name}-${i}`, stop))
        const racing = held.map((_, i) => send('GET', `/notice?gate=race-${underTest.name}-${i}`, cookie))
        await Promise.all(held.map((stop) => stop.reached))
        for (const stop of held) stop.open()
        const notices = await Promise.all(racing.map(async (response) => notice(await response)))
        expect(notices.sort()).toEqual(serverSide ? [null, 'once'] : ['once', 'once'])
      },
    )

    it("a request in flight when a flash is left does not lose it with its own commit; reflash keeps it one more request", async () => {
      let cookie = cookieHeader(await send('POST', '/set/user/ada'))
      const slow = gate()
      gates.set(`slow-${underTest.name}`, slow)
      const pending = send('POST', `/set/color/red?gate=slow-${underTest.name}`, cookie)
      await slow.reached
      const flashed = await send('POST', '/flash/meanwhile', cookie)
      slow.open()
      const late = await pending
      expect(late.status).toBe(200)
      // The cookie store's value is the record: the later cookie wins whole, so the flash goes with the earlier one.
      cookie = serverSide ? cookie : next(flashed, cookie)
      const kept = await send('GET', '/notice?reflash', cookie)
      expect(await notice(kept)).toBe('meanwhile')
      cookie = next(kept, cookie)
      const shown = await send('GET', '/notice', cookie)
      expect(await notice(shown)).toBe('meanwhile')
      expect(await notice(await send('GET', '/notice', next(shown, cookie)))).toBeNull()
    })
  })
}

for (const underTest of storesUnderTest) {
  describe(`${underTest.name} store over HTTP`, () => {
    let server: RunningApp
    const gates = new Map<string, Gate>()
    beforeAll(async () => {
      server = await overHttp(app(await underTest.make(), gates).fetch)
    })
    afterAll(async () => server.close())

    const post = (path: string, cookie?: string): Promise<Response> =>
      server.fetch(new Request(`http://localhost${path}`, { method: 'POST', headers: cookie ? { cookie } : {} }))
    const entries = async (cookie: string): Promise<Record<string, unknown>> =>
      (await server.fetch(new Request('http://localhost/entries', { headers: { cookie } }))).json() as never
    const login = async (): Promise<string> => cookieHeader(await post('/login'))

    it('overlapping requests that change different keys all land', async () => {
      const cookie = await login()
      const keys = Array.from({ length: 10 }, (_, i) => `k${i}`)
      // Every request has loaded the session before any of them writes.
      const held = keys.map((key) => {
        const stop = gate()
        gates.set(`keys-${key}`, stop)
        return stop
      })
      const pending = keys.map((key) => post(`/set/${key}/v-${key}?gate=keys-${key}`, cookie))
      await Promise.all(held.map((stop) => stop.reached))
      for (const stop of held) stop.open()
      const responses = await Promise.all(pending)
      for (const response of responses) expect(response.status).toBe(200)
      const stored = await entries(cookie)
      for (const key of keys) expect(stored[key]).toBe(`v-${key}`)
      expect(stored.user).toBe('ferris')
    })

    it('overlapping requests on the same key: the last writer wins, and nothing else is lost', async () => {
      const cookie = await login()
      const first = gate()
      const second = gate()
      gates.set('same-1', first)
      gates.set('same-2', second)
      const a = post('/set/color/red?gate=same-1', cookie)
      const b = post('/set/color/blue?gate=same-2', cookie)
      await Promise.all([first.reached, second.reached])
      first.open()
      await a
      second.open()
      await b
      expect(await entries(cookie)).toEqual({ user: 'ferris', color: 'blue' })
    })

    it('a slow request that loaded before a logout cannot bring the session back', async () => {
      const cookie = await login()
      const slow = gate()
      gates.set('purge-race', slow)
      const pending = post('/set/cart/full?gate=purge-race', cookie)
      await slow.reached
      const logout = await post('/logout', cookie)
      expect(sessionCookie(logout)?.maxAge).toBe(0)
      slow.open()
      const late = await pending
      expect(late.status).toBe(200)
      expect(sessionCookie(late)?.maxAge).toBe(0)
      expect(await entries(cookie)).toEqual({})
    })

    it('a slow request cannot write under the new id after a renew, and leaves the cookie to the renew; renew deletes the old record', async () => {
      const cookie = await login()
      const slow = gate()
      gates.set('renew-race', slow)
      const pending = post('/set/cart/full?gate=renew-race', cookie)
      await slow.reached
      const renewed = cookieHeader(await post('/renew', cookie))
      expect(renewed).not.toBe(cookie)
      expect(await entries(cookie)).toEqual({})
      slow.open()
      // The store answers RENEWED: the write is dropped and the cookie left alone, so the browser
      // keeps the renewed id (clearing it would log the user out right after logging in).
      const late = await pending
      expect(late.status).toBe(200)
      expect(sessionCookie(late)).toBeUndefined()
      expect(await entries(renewed)).toEqual({ user: 'ferris' })
    })

    it('a logout right after a renew (with the old cookie) still ends the renewed session', async () => {
      const cookie = await login()
      const renewed = cookieHeader(await post('/renew', cookie))
      await post('/logout', cookie)
      expect(await entries(renewed)).toEqual({})
    })
  })

  describe(`${underTest.name} store over HTTP: the edges of a session's life`, () => {
    const servers: RunningApp[] = []
    afterAll(async () => {
      for (const server of servers) await server.close()
    })
    async function serve(store: SessionStore, options: Partial<SessionOptions>): Promise<RunningApp> {
      const server = await overHttp(app(store, new Map(), options).fetch)
      servers.push(server)
      return server
    }
    const send = (server: RunningApp, method: string, path: string, cookie?: string): Promise<Response> =>
      server.fetch(new Request(`http://localhost${path}`, { method, headers: cookie ? { cookie } : {} }))
    const entriesOf = async (server: RunningApp, cookie: string): Promise<Record<string, unknown>> =>
      (await send(server, 'GET', '/entries', cookie)).json() as never

    it('a sign-in (insert + renew, no read) with a cookie whose record idle-expired signs in at once', async () => {
      const server = await serve(await underTest.make(), { lifecycle: { type: 'browser', stateTtl: 1 } })
      const stale = cookieHeader(await send(server, 'POST', '/set/cart/1'))
      await eventually(async () => Object.keys(await entriesOf(server, stale)).length === 0)
      const response = await send(server, 'POST', '/sign-in', stale)
      expect(response.status).toBe(200)
      expect(sessionCookie(response)?.maxAge).toBeUndefined()
      const fresh = cookieHeader(response)
      expect(fresh).not.toBe(stale)
      expect(await entriesOf(server, fresh)).toEqual({ user: 'ferris' })
    })

    it("a user's sessions: two app instances list the same devices, and signing out the others ends them in both", async () => {
      const store = await underTest.make()
      const accounts: Partial<SessionOptions> = { userKey: 'user', describe: (request) => ({ userAgent: request?.headers.get('x-device') ?? '?' }) }
      const one = await serve(store, accounts)
      const two = await serve(store, accounts)
      const signIn = async (server: RunningApp, device: string): Promise<string> =>
        cookieHeader(await server.fetch(new Request('http://localhost/sign-in', { method: 'POST', headers: { 'x-device': device } })))
      const laptop = await signIn(one, 'Laptop')
      const tablet = await signIn(two, 'Tablet')
      const phone = await signIn(one, 'Phone')
      const devices = async (server: RunningApp): Promise<string[]> =>
        ((await (await send(server, 'GET', '/devices', phone)).json()) as { userAgent: string; current: boolean }[])
          .map((device) => `${device.userAgent}${device.current ? '*' : ''}`)
          .sort()
      expect(await devices(one)).toEqual(['Laptop', 'Phone*', 'Tablet'])
      expect(await devices(two)).toEqual(['Laptop', 'Phone*', 'Tablet'])
      expect(await (await send(two, 'POST', '/sign-out-others', phone)).json()).toBe(2)
      for (const server of [one, two]) {
        expect(await entriesOf(server, laptop)).toEqual({})
        expect(await entriesOf(server, tablet)).toEqual({})
        expect(await entriesOf(server, phone)).toEqual({ user: 'ferris' })
      }
      expect(await devices(one)).toEqual(['Phone*'])
    })

    it('lowering absoluteTimeout ends sessions issued under the longer one', async () => {
      const store = await underTest.make()
      const before = await serve(store, { absoluteTimeout: 3600 })
      const after = await serve(store, { absoluteTimeout: 1 })
      const cookie = cookieHeader(await send(before, 'POST', '/login'))
      await eventually(async () => Object.keys(await entriesOf(after, cookie)).length === 0)
      // The same cookie and record are still good where the longer timeout is configured: only the configuration differs.
      expect(await entriesOf(before, cookie)).toEqual({ user: 'ferris' })
    })
  })
}
