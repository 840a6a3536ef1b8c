import assert from 'node:assert/strict'
import { parseSetCookie, type SetCookie } from 'cookie'
import { StoreError } from '../core/errors.js'
import type { Json } from '../core/json.js'
import type { SessionOptions } from '../core/options.js'
import type { Session } from '../core/session.js'
import type { ChangeSet, Missing, SessionRecord, SessionStore } from '../core/store.js'
import type { ConformanceTestApi } from './store-conformance.js'

/** What a route of the suite answers; the harness turns it into its framework's response. */
export interface RouteResult {
  status?: number
  /** Sent as JSON. */
  json?: Json
  /** Sent as text/plain. */
  text?: string
  /** Sent as a 302 to this location. */
  redirect?: string
  /**
   * Throw instead of answering: an HTTP error with this status (a 4xx), thrown the framework's own
   * way, for its error handling to render (Hono `throw new HTTPException(status)`, Koa
   * `ctx.throw(status)`, Fastify an error with `statusCode`, Express `next(err)` with `err.status`).
   */
  throwStatus?: number
}

/**
 * A route of the suite's apps, written once against the `Session` API. The harness mounts each
 * one in its framework, calls `handler` with the request's session and the parsed JSON body (POST),
 * and writes the result.
 */
export interface AppRoute {
  method: 'GET' | 'POST'
  path: string
  handler(session: Session, body: Json | undefined): Promise<RouteResult> | RouteResult
}

/** A running app under test: a fetch function (in-process or over real HTTP) and a way to stop it. */
export interface RunningApp {
  fetch(request: Request): Promise<Response>
  close(): Promise<void>
}

/**
 * Builds an app of one framework with the sessions middleware configured with `options`,
 * serving `routes` (anything else is a 404).
 *
 * @example
 * ```ts
 * const harness: AdapterHarness = {
 *   name: 'hono (in-process)',
 *   async start(options, routes) {
 *     const app = new Hono().use(sessions(options))
 *     for (const route of routes) app.on(route.method, route.path, async (c) => send(c, await route.handler(c.get('session'), await body(c))))
 *     return { fetch: async (request) => app.request(request), close: async () => {} }
 *   },
 * }
 * ```
 */
export interface AdapterHarness {
  name: string
  start(options: SessionOptions, routes: AppRoute[]): Promise<RunningApp>
  /**
   * False for an adapter whose framework cannot turn a thrown error into a 4xx (node:http, where
   * every throw is a 500): the suite then leaves out the cases whose route answers with
   * {@link RouteResult.throwStatus}. Default true.
   */
  rendersThrownStatus?: boolean
}

/**
 * Stores the suite runs against. `canInvalidate` picks the expected outcome of replaying an old
 * cookie (as actix's `is_invalidation_supported` does).
 */
export interface StoreFactory {
  name: string
  make(): SessionStore | Promise<SessionStore>
}

/** Options of {@link defineAdapterConformance}. */
export interface AdapterConformanceOptions {
  test: ConformanceTestApi
  harness: AdapterHarness
  stores: StoreFactory[]
  /** Makes a secret for each app the suite starts (e.g. `generateKey` from cloakroom). */
  makeKey(): string
}

const ORIGIN = 'http://localhost'

function cookiesOf(response: Response): SetCookie[] {
  return response.headers.getSetCookie().map((line) => parseSetCookie(line))
}

function cookieNamed(response: Response, name: string): SetCookie | undefined {
  const found = cookiesOf(response).filter((cookie) => cookie.name === name)
  assert.ok(found.length <= 1, `expected at most one ${name} cookie, got ${found.length}`)
  return found[0]
}

function mustCookie(response: Response, name: string): SetCookie {
  const cookie = cookieNamed(response, name)
  assert.ok(cookie, `expected a ${name} cookie on the response`)
  return cookie
}

function request(path: string, options: { method?: 'GET' | 'POST'; cookie?: SetCookie | string; body?: Json; userAgent?: string } = {}): Request {
  const headers = new Headers()
  const { cookie } = options
  if (options.userAgent !== undefined) headers.set('user-agent', options.userAgent)
  if (cookie !== undefined) headers.set('cookie', typeof cookie === 'string' ? cookie : `${cookie.name}=${cookie.value ?? ''}`)
  if (options.body !== undefined) headers.set('content-type', 'application/json')
  return new Request(ORIGIN + path, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
}

/** Wraps a real store; once `broken` is set, every call fails: the suite's outage. */
class SwitchableStore implements SessionStore {
  broken = false
  constructor(readonly inner: SessionStore) {}
  get canInvalidate(): boolean {
    return this.inner.canInvalidate
  }
  get idIsRecord(): boolean | undefined {
    return this.inner.idIsRecord
  }
  #check(): void {
    if (this.broken) throw new StoreError('unavailable', 'conformance outage: connection refused at 10.0.0.1:6379 (internal detail)')
  }
  async load(id: string): Promise<SessionRecord | null> {
    this.#check()
    return this.inner.load(id)
  }
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    this.#check()
    return this.inner.create(record, ttlMs)
  }
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    this.#check()
    return this.inner.apply(id, changes, ttlMs)
  }
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    this.#check()
    return this.inner.renew(id, changes, ttlMs)
  }
  async touch(id: string, ttlMs: number): Promise<string | Missing> {
    this.#check()
    return this.inner.touch(id, ttlMs)
  }
  async delete(id: string): Promise<void> {
    this.#check()
    return this.inner.delete(id)
  }
}

type Counter = { user_id: Json; counter: Json }

async function counterOf(session: Session): Promise<Counter> {
  return { user_id: ((await session.get('user_id')) ?? null) as Json, counter: ((await session.get('counter')) ?? 0) as Json }
}

// The routes of actix's `complex_workflow` and `guard` scenarios.
const complexRoutes: AppRoute[] = [
  { method: 'GET', path: '/', handler: async (session) => ({ json: await counterOf(session) }) },
  {
    method: 'POST',
    path: '/do_something',
    handler: async (session) => {
      const counter = (((await session.get('counter')) ?? 0) as number) + 1
      session.insert('counter', counter)
      return { json: await counterOf(session) }
    },
  },
  {
    method: 'POST',
    path: '/login',
    handler: async (session, body) => {
      session.insert('user_id', (body as { user_id: string }).user_id)
      session.renew()
      return { json: await counterOf(session) }
    },
  },
  {
    method: 'POST',
    path: '/logout',
    handler: async (session) => {
      const id = await session.get('user_id')
      if (id === undefined) return { status: 401, text: 'not logged in' }
      session.purge()
      return { text: `Welcome ${String(id)}!` }
    },
  },
  {
    method: 'GET',
    path: '/protected/count',
    handler: async (session) => ((await session.has('user_id')) ? { json: await counterOf(session) } : { status: 404, text: 'not found' }),
  },
]

/**
 * The adapter conformance suite: actix-session's acceptance scenarios (basic workflow, expiry
 * refresh on changes and on every request, the complex workflow, the guard), each in private and
 * signed mode against every store given, plus cloakroom's own response rules (no cookie for an
 * untouched session, exact attributes, a forged cookie gets a fresh session, renew kills the old
 * id, purge sends the removal cookie, a store failure is an empty 500, redirects carry the cookie,
 * the final status decides what a thrown error commits, and a purge is never dropped), and flash
 * messages (read once after a redirect, `reflash`).
 * Third-party adapters can run it too.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * defineAdapterConformance({ test: { describe, it }, harness, stores: [{ name: 'memory', make: () => new MemoryStore() }], makeKey: generateKey })
 * ```
 */
export function defineAdapterConformance({ test, harness, stores, makeKey }: AdapterConformanceOptions): void {
  const { describe, it } = test

  async function withApp(options: Omit<SessionOptions, 'keys'>, routes: AppRoute[], run: (app: RunningApp) => Promise<void>): Promise<void> {
    const app = await harness.start({ keys: [makeKey()], ...options }, routes)
    try {
      await run(app)
    } finally {
      await app.close()
    }
  }

  describe(`adapter conformance: ${harness.name}`, () => {
    for (const factory of stores) {
      for (const contentSecurity of ['private', 'signed'] as const) {
        describe(`${factory.name} store, ${contentSecurity}`, () => {
          it('basic_workflow: the cookie carries the configured name and path, and the next request reads the value', async () => {
            const store = await factory.make()
            const routes: AppRoute[] = [
              { method: 'GET', path: '/', handler: (session) => (session.insert('counter', 100), { text: 'counter: 100' }) },
              { method: 'GET', path: '/test/', handler: async (session) => ({ text: `counter: ${String(await session.get('counter'))}` }) },
            ]
            const options = {
              store,
              contentSecurity,
              cookie: { name: 'actix-test', path: '/test/', domain: 'example.com' },
              lifecycle: { type: 'persistent', ttl: 100 },
            } as const
            await withApp(options, routes, async (app) => {
              const first = await app.fetch(request('/'))
              const cookie = mustCookie(first, 'actix-test')
              assert.equal(cookie.path, '/test/')
              assert.equal(cookie.domain, 'example.com')
              const second = await app.fetch(request('/test/', { cookie }))
              assert.equal(await second.text(), 'counter: 100')
            })
          })

          it('expiration_is_refreshed_on_changes: Max-Age on every change, no cookie when the session is not used', async () => {
            const store = await factory.make()
            const routes: AppRoute[] = [
              { method: 'GET', path: '/', handler: (session) => (session.insert('counter', 100), { text: 'counter: 100' }) },
              { method: 'GET', path: '/test/', handler: () => ({ text: 'no session here' }) },
            ]
            await withApp({ store, contentSecurity, lifecycle: { type: 'persistent', ttl: 60 } }, routes, async (app) => {
              const first = await app.fetch(request('/'))
              const cookie = mustCookie(first, 'id')
              assert.equal(cookie.maxAge, 60)
              const untouched = await app.fetch(request('/test/', { cookie }))
              assert.deepEqual(untouched.headers.getSetCookie(), [])
              const again = await app.fetch(request('/', { cookie }))
              assert.equal(mustCookie(again, 'id').maxAge, 60)
            })
          })

          it('expiration_is_always_refreshed_if_configured_to_refresh_on_every_request', async () => {
            const store = await factory.make()
            const routes: AppRoute[] = [
              { method: 'GET', path: '/', handler: (session) => (session.insert('counter', 100), { text: 'counter: 100' }) },
              { method: 'GET', path: '/test/', handler: () => ({ text: 'no session here' }) },
            ]
            const lifecycle = { type: 'persistent', ttl: 60, extendOn: 'every-request' } as const
            await withApp({ store, contentSecurity, lifecycle }, routes, async (app) => {
              const cookie = mustCookie(await app.fetch(request('/')), 'id')
              const untouched = await app.fetch(request('/test/', { cookie }))
              assert.equal(mustCookie(untouched, 'id').maxAge, 60)
            })
          })

          it('complex_workflow: counter, login (renew), replay of an old cookie, logout (purge)', async () => {
            const store = await factory.make()
            const canInvalidate = store.canInvalidate
            const week = 7 * 86_400
            const options = { store, contentSecurity, cookie: { name: 'test-session' }, lifecycle: { type: 'persistent', ttl: week } } as const
            await withApp(options, complexRoutes, async (app) => {
              const get = (cookie?: SetCookie): Promise<Response> => app.fetch(request('/', cookie === undefined ? {} : { cookie }))
              const post = (path: string, cookie?: SetCookie, body?: Json): Promise<Response> =>
                app.fetch(request(path, { method: 'POST', ...(cookie === undefined ? {} : { cookie }), ...(body === undefined ? {} : { body }) }))

              const r1 = await get()
              assert.deepEqual(r1.headers.getSetCookie(), [])
              assert.deepEqual(await r1.json(), { user_id: null, counter: 0 })

              const r2 = await post('/do_something')
              assert.deepEqual(await r2.json(), { user_id: null, counter: 1 })
              const c1 = mustCookie(r2, 'test-session')
              assert.equal(c1.maxAge, week)

              const r3 = await get(c1)
              assert.deepEqual(r3.headers.getSetCookie(), [])
              assert.deepEqual(await r3.json(), { user_id: null, counter: 1 })

              const r4 = await post('/do_something', c1)
              assert.deepEqual(await r4.json(), { user_id: null, counter: 2 })
              const c2 = mustCookie(r4, 'test-session')
              assert.equal(c2.maxAge, week)

              const r5 = await post('/login', c2, { user_id: 'ferris' })
              const c3 = mustCookie(r5, 'test-session')
              assert.notEqual(c3.value, c2.value)
              assert.deepEqual(await r5.json(), { user_id: 'ferris', counter: 2 })

              assert.deepEqual(await (await get(c3)).json(), { user_id: 'ferris', counter: 2 })

              const r7 = await post('/do_something', c3)
              assert.deepEqual(await r7.json(), { user_id: 'ferris', counter: 3 })
              const c4 = cookieNamed(r7, 'test-session') ?? c3

              const r8 = await get(c2)
              if (canInvalidate) {
                assert.deepEqual(r8.headers.getSetCookie(), [])
                assert.deepEqual(await r8.json(), { user_id: null, counter: 0 })
              } else {
                assert.deepEqual(await r8.json(), { user_id: null, counter: 2 })
              }

              const r9 = await post('/logout', c4)
              const removal = mustCookie(r9, 'test-session')
              assert.equal(removal.maxAge, 0)
              assert.equal(removal.path, '/')
              assert.equal(removal.value ?? '', '')

              const r10 = await get(removal)
              assert.deepEqual(await r10.json(), { user_id: null, counter: 0 })
              if (canInvalidate) assert.deepEqual(r10.headers.getSetCookie(), [])
            })
          })

          it('guard: a route that needs a logged-in session', async () => {
            const store = await factory.make()
            await withApp({ store, contentSecurity, lifecycle: { type: 'persistent', ttl: 3600 } }, complexRoutes, async (app) => {
              const anonymous = await app.fetch(request('/protected/count'))
              assert.equal(anonymous.status, 404)
              const c1 = mustCookie(await app.fetch(request('/login', { method: 'POST', body: { user_id: 'ferris' } })), 'id')
              const r2 = await app.fetch(request('/do_something', { method: 'POST', cookie: c1 }))
              assert.deepEqual(await r2.json(), { user_id: 'ferris', counter: 1 })
              const c2 = cookieNamed(r2, 'id') ?? c1
              const r3 = await app.fetch(request('/protected/count', { cookie: c2 }))
              assert.equal(r3.status, 200)
              assert.deepEqual(await r3.json(), { user_id: 'ferris', counter: 1 })
            })
          })
        })
      }

      describe(`${factory.name} store: response rules`, () => {
        const routes: AppRoute[] = [
          ...complexRoutes.filter((route) => route.path !== '/'),
          { method: 'GET', path: '/', handler: async (session) => ({ json: await counterOf(session) }) },
          { method: 'GET', path: '/untouched', handler: () => ({ text: 'hello' }) },
          {
            method: 'POST',
            path: '/login-redirect',
            handler: (session) => {
              session.insert('user_id', 'ferris')
              session.renew()
              return { redirect: '/' }
            },
          },
          {
            method: 'POST',
            path: '/fail-after-insert',
            handler: (session) => (session.insert('counter', 1), { status: 503, text: 'unavailable' }),
          },
          // A guard that ends the session, then refuses the request the framework's own way.
          { method: 'POST', path: '/logout-then-401', handler: (session) => (session.purge(), { throwStatus: 401 }) },
          { method: 'POST', path: '/insert-then-401', handler: (session) => (session.insert('counter', 7), { throwStatus: 401 }) },
          {
            method: 'POST',
            path: '/logout-then-throw',
            handler: (session) => {
              session.purge()
              throw new Error('conformance: a plain error thrown after purge() (expected in this test)')
            },
          },
          {
            method: 'POST',
            path: '/insert-then-throw',
            handler: (session) => {
              session.insert('counter', 7)
              throw new Error('conformance: a plain error thrown after insert() (expected in this test)')
            },
          },
          { method: 'POST', path: '/logout-then-503', handler: (session) => (session.purge(), { status: 503, text: 'unavailable' }) },
        ]

        /** Logs in as ferris; returns the cookie, after checking the session is there. */
        async function loggedIn(app: RunningApp): Promise<SetCookie> {
          const cookie = mustCookie(await app.fetch(request('/login', { method: 'POST', body: { user_id: 'ferris' } })), 'id')
          assert.deepEqual(await (await app.fetch(request('/', { cookie }))).json(), { user_id: 'ferris', counter: 0 })
          return cookie
        }

        /** The response carries the removal cookie, and (where the store can invalidate) the old cookie no longer logs in. */
        async function assertLoggedOut(app: RunningApp, store: SessionStore, response: Response, cookie: SetCookie): Promise<void> {
          const removal = mustCookie(response, 'id')
          assert.equal(removal.maxAge, 0)
          assert.equal(removal.value ?? '', '')
          assert.equal(response.headers.get('cache-control'), 'no-store')
          const replay = await (await app.fetch(request('/', { cookie }))).json()
          if (store.canInvalidate) assert.deepEqual(replay, { user_id: null, counter: 0 })
        }

        it('an untouched session gets no Set-Cookie, Cache-Control or Vary', async () => {
          await withApp({ store: await factory.make() }, routes, async (app) => {
            const response = await app.fetch(request('/untouched'))
            assert.equal(await response.text(), 'hello')
            assert.deepEqual(response.headers.getSetCookie(), [])
            assert.equal(response.headers.get('cache-control'), null)
            assert.equal(response.headers.get('vary'), null)
          })
        })

        it('a new session cookie has exactly the default attributes', async () => {
          await withApp({ store: await factory.make() }, routes, async (app) => {
            const response = await app.fetch(request('/do_something', { method: 'POST' }))
            const line = response.headers.getSetCookie().find((candidate) => candidate.startsWith('id='))
            assert.match(line ?? '', /^id=[A-Za-z0-9_.-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
            assert.equal(response.headers.get('cache-control'), 'no-store')
            assert.match(response.headers.get('vary') ?? '', /cookie/i)
          })
        })

        it('a forged cookie gets a fresh session, never the forged value', async () => {
          await withApp({ store: await factory.make() }, routes, async (app) => {
            const forged = 'e1.AAAAAAAA.' + 'A'.repeat(60)
            const response = await app.fetch(request('/do_something', { method: 'POST', cookie: `id=${forged}` }))
            assert.deepEqual(await response.json(), { user_id: null, counter: 1 })
            assert.notEqual(mustCookie(response, 'id').value, forged)
          })
        })

        it('renew changes the id and, where the store can invalidate, the old one is dead', async () => {
          const store = await factory.make()
          await withApp({ store }, routes, async (app) => {
            const before = mustCookie(await app.fetch(request('/do_something', { method: 'POST' })), 'id')
            const after = mustCookie(await app.fetch(request('/login', { method: 'POST', cookie: before, body: { user_id: 'ferris' } })), 'id')
            assert.notEqual(after.value, before.value)
            const replay = await (await app.fetch(request('/', { cookie: before }))).json()
            assert.deepEqual(replay, store.canInvalidate ? { user_id: null, counter: 0 } : { user_id: null, counter: 1 })
          })
        })

        it('purge sends the removal cookie with the configured path and domain', async () => {
          const options = { store: await factory.make(), cookie: { path: '/', domain: 'example.com' } }
          await withApp(options, routes, async (app) => {
            const cookie = mustCookie(await app.fetch(request('/login', { method: 'POST', body: { user_id: 'ferris' } })), 'id')
            const removal = mustCookie(await app.fetch(request('/logout', { method: 'POST', cookie })), 'id')
            assert.equal(removal.maxAge, 0)
            assert.equal(removal.domain, 'example.com')
            assert.equal(removal.path, '/')
            assert.equal(removal.httpOnly, true)
            assert.equal(removal.secure, true)
            assert.equal(removal.sameSite, 'lax')
          })
        })

        it('a redirect right after login carries the new cookie, and the record exists when the redirect arrives', async () => {
          const store = await factory.make()
          await withApp({ store }, routes, async (app) => {
            const response = await app.fetch(request('/login-redirect', { method: 'POST' }))
            assert.equal(response.status, 302)
            assert.match(response.headers.get('location') ?? '', /\/$/)
            const cookie = mustCookie(response, 'id')
            const followed = await app.fetch(request('/', { cookie }))
            assert.deepEqual(await followed.json(), { user_id: 'ferris', counter: 0 })
          })
        })

        it('a response with status 500 or more commits nothing', async () => {
          await withApp({ store: await factory.make() }, routes, async (app) => {
            const response = await app.fetch(request('/fail-after-insert', { method: 'POST' }))
            assert.equal(response.status, 503)
            assert.deepEqual(response.headers.getSetCookie(), [])
          })
        })

        it('a purge followed by a returned 500 or more still logs out', async () => {
          const store = await factory.make()
          await withApp({ store }, routes, async (app) => {
            const cookie = await loggedIn(app)
            const response = await app.fetch(request('/logout-then-503', { method: 'POST', cookie }))
            assert.equal(response.status, 503)
            await assertLoggedOut(app, store, response, cookie)
          })
        })

        it('a purge followed by a thrown plain error (500) still deletes the record and clears the cookie', async () => {
          const store = await factory.make()
          await withApp({ store }, routes, async (app) => {
            const cookie = await loggedIn(app)
            const response = await app.fetch(request('/logout-then-throw', { method: 'POST', cookie }))
            assert.equal(response.status, 500)
            await assertLoggedOut(app, store, response, cookie)
          })
        })

        it('an insert followed by a thrown plain error (500) commits nothing', async () => {
          const store = await factory.make()
          await withApp({ store }, routes, async (app) => {
            const cookie = await loggedIn(app)
            const response = await app.fetch(request('/insert-then-throw', { method: 'POST', cookie }))
            assert.equal(response.status, 500)
            assert.deepEqual(response.headers.getSetCookie(), [])
            assert.deepEqual(await (await app.fetch(request('/', { cookie }))).json(), { user_id: 'ferris', counter: 0 })
          })
        })

        if (harness.rendersThrownStatus !== false) {
          it('a purge followed by a thrown 401 still logs out', async () => {
            const store = await factory.make()
            await withApp({ store }, routes, async (app) => {
              const cookie = await loggedIn(app)
              const response = await app.fetch(request('/logout-then-401', { method: 'POST', cookie }))
              assert.equal(response.status, 401)
              await assertLoggedOut(app, store, response, cookie)
            })
          })

          it('an insert followed by a thrown 401 commits, as a returned 401 would', async () => {
            const store = await factory.make()
            await withApp({ store }, routes, async (app) => {
              const cookie = await loggedIn(app)
              const response = await app.fetch(request('/insert-then-401', { method: 'POST', cookie }))
              assert.equal(response.status, 401)
              const next = cookieNamed(response, 'id') ?? cookie
              assert.deepEqual(await (await app.fetch(request('/', { cookie: next }))).json(), { user_id: 'ferris', counter: 7 })
            })
          })
        }
      })
    }

    for (const factory of stores) {
      describe(`${factory.name} store: a user's sessions through the adapter`, () => {
        const routes: AppRoute[] = [
          { method: 'POST', path: '/sign-in', handler: (session) => (session.insert('userId', 'ferris'), session.renew(), { text: 'in' }) },
          // Wrapped in an object: some frameworks answer a null body with 204 and no JSON.
          { method: 'GET', path: '/whoami', handler: async (session) => ({ json: { userId: (await session.get('userId')) ?? null } }) },
          {
            method: 'GET',
            path: '/devices',
            handler: async (session) => ({ json: (await session.listUserSessions()).map((device) => ({ current: device.current, userAgent: device.userAgent ?? null })) }),
          },
          { method: 'POST', path: '/sign-out-others', handler: async (session) => ({ json: await session.revokeOtherUserSessions() }) },
        ]
        const options = async (): Promise<Omit<SessionOptions, 'keys'>> => ({
          store: await factory.make(),
          userKey: 'userId',
          describe: (incoming) => ({ userAgent: incoming?.headers.get('user-agent') ?? 'no request' }),
        })

        it('lists the devices with what describe read from the request, and signs the other one out (a store that cannot list: the call fails)', async () => {
          const settings = await options()
          if (settings.store.listByUser === undefined) {
            // A store that cannot list (the cookie store): the handler's call throws, so no listing leaks out.
            await withApp({ ...settings, logger: { error: () => {} } }, routes, async (app) => {
              const phone = mustCookie(await app.fetch(request('/sign-in', { method: 'POST', userAgent: 'Phone' })), 'id')
              assert.equal((await app.fetch(request('/devices', { cookie: phone }))).status, 500)
            })
            return
          }
          await withApp(settings, routes, async (app) => {
            const laptop = mustCookie(await app.fetch(request('/sign-in', { method: 'POST', userAgent: 'Laptop' })), 'id')
            const phone = mustCookie(await app.fetch(request('/sign-in', { method: 'POST', userAgent: 'Phone' })), 'id')
            const devices = (await (await app.fetch(request('/devices', { cookie: phone }))).json()) as { current: boolean; userAgent: string }[]
            assert.deepEqual(devices.map((device) => device.userAgent).sort(), ['Laptop', 'Phone'])
            assert.deepEqual(devices.find((device) => device.current)?.userAgent, 'Phone')
            assert.equal(await (await app.fetch(request('/sign-out-others', { method: 'POST', cookie: phone }))).json(), 1)
            assert.deepEqual(await (await app.fetch(request('/whoami', { cookie: laptop }))).json(), { userId: null })
            assert.deepEqual(await (await app.fetch(request('/whoami', { cookie: phone }))).json(), { userId: 'ferris' })
          })
        })
      })
    }

    for (const factory of stores) {
      describe(`${factory.name} store: flash messages through the adapter`, () => {
        const routes: AppRoute[] = [
          { method: 'POST', path: '/save', handler: (session) => (session.flash('notice', 'Saved'), { redirect: '/show' }) },
          { method: 'GET', path: '/show', handler: async (session) => ({ json: { notice: (await session.takeFlash('notice')) ?? null } }) },
          {
            method: 'GET',
            path: '/show-and-keep',
            handler: async (session) => {
              const notice = (await session.takeFlash('notice')) ?? null
              session.reflash()
              return { json: { notice } }
            },
          },
          { method: 'GET', path: '/data', handler: async (session) => ({ json: (await session.entries()) as Json }) },
          { method: 'POST', path: '/save-then-503', handler: (session) => (session.flash('notice', 'lost'), { status: 503, text: 'unavailable' }) },
        ]
        const noticeOf = async (response: Response): Promise<Json> => ((await response.json()) as { notice: Json }).notice
        /** The cookie to send next: the response's, when it set one. */
        const next = (response: Response, cookie: SetCookie): SetCookie => cookieNamed(response, 'id') ?? cookie

        it('post, redirect, get: the flash is read once on the page the redirect leads to, and never shows in the data', async () => {
          await withApp({ store: await factory.make() }, routes, async (app) => {
            const posted = await app.fetch(request('/save', { method: 'POST' }))
            assert.equal(posted.status, 302)
            const cookie = mustCookie(posted, 'id')
            assert.deepEqual(await (await app.fetch(request('/data', { cookie }))).json(), {})
            const shown = await app.fetch(request('/show', { cookie }))
            assert.equal(await noticeOf(shown), 'Saved')
            assert.match(shown.headers.get('vary') ?? '', /cookie/i)
            assert.equal(await noticeOf(await app.fetch(request('/show', { cookie: next(shown, cookie) }))), null)
          })
        })

        it('reflash keeps the flash for one more request', async () => {
          await withApp({ store: await factory.make() }, routes, async (app) => {
            let cookie = mustCookie(await app.fetch(request('/save', { method: 'POST' })), 'id')
            const kept = await app.fetch(request('/show-and-keep', { cookie }))
            assert.equal(await noticeOf(kept), 'Saved')
            cookie = next(kept, cookie)
            const shown = await app.fetch(request('/show', { cookie }))
            assert.equal(await noticeOf(shown), 'Saved')
            assert.equal(await noticeOf(await app.fetch(request('/show', { cookie: next(shown, cookie) }))), null)
          })
        })

        it('a flash left on a response of 500 or more is not committed', async () => {
          await withApp({ store: await factory.make() }, routes, async (app) => {
            const response = await app.fetch(request('/save-then-503', { method: 'POST' }))
            assert.equal(response.status, 503)
            assert.deepEqual(response.headers.getSetCookie(), [])
          })
        })
      })
    }

    it("onStoreError 'anonymous': a store that fails to load gives the handler an empty session (200), its writes are not stored, and storeError is reported", async () => {
      const first = stores[0]
      assert.ok(first, 'the suite needs at least one store')
      const store = new SwitchableStore(await first.make())
      const reported: string[] = []
      const options = {
        store,
        onStoreError: 'anonymous' as const,
        logger: { error: () => {}, warn: () => {} },
        events: { storeError: ({ error }: { error: { kind: string } }) => void reported.push(error.kind) },
      }
      await withApp(options, complexRoutes, async (app) => {
        const cookie = mustCookie(await app.fetch(request('/do_something', { method: 'POST' })), 'id')
        store.broken = true
        const read = await app.fetch(request('/', { cookie }))
        assert.equal(read.status, 200)
        assert.deepEqual(await read.json(), { user_id: null, counter: 0 })
        const write = await app.fetch(request('/do_something', { method: 'POST', cookie }))
        assert.equal(write.status, 200)
        assert.deepEqual(write.headers.getSetCookie(), [])
        store.broken = false
        assert.deepEqual(await (await app.fetch(request('/', { cookie }))).json(), { user_id: null, counter: 1 })
        assert.deepEqual(reported, ['unavailable', 'unavailable'])
      })
    })

    it('a store failure gives an empty-bodied 500 with no-store, and no detail reaches the client', async () => {
      const first = stores[0]
      assert.ok(first, 'the suite needs at least one store')
      const store = new SwitchableStore(await first.make())
      await withApp({ store, logger: { error: () => {} } }, complexRoutes, async (app) => {
        const cookie = mustCookie(await app.fetch(request('/do_something', { method: 'POST' })), 'id')
        store.broken = true
        for (const failing of [request('/', { cookie }), request('/do_something', { method: 'POST', cookie }), request('/do_something', { method: 'POST' })]) {
          const response = await app.fetch(failing)
          assert.equal(response.status, 500)
          assert.equal(await response.text(), '')
          assert.equal(response.headers.get('cache-control'), 'no-store')
          assert.deepEqual(response.headers.getSetCookie(), [])
        }
        store.broken = false
        const recovered = await app.fetch(request('/', { cookie }))
        assert.deepEqual(await recovered.json(), { user_id: null, counter: 1 })
      })
    })
  })
}
