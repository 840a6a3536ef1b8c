import type { SessionStore } from '../../src/core/store.js'
import { forwardTo } from '../support/harness.js'
import { InstrumentedStore } from '../support/stores.js'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { Readable } from 'node:stream'
import Koa from 'koa'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { getSession, sessions } from '../../src/adapters/koa/index.js'
import type { Json } from '../../src/core/json.js'
import type { SessionOptions } from '../../src/core/options.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { defineAdapterConformance, type AdapterHarness, type AppRoute, type RouteResult, type RunningApp } from '../../src/testing/adapter-conformance.js'
import { watchHeadLeaving, type Timeline } from '../support/node-http-harness.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { gate, hangGuard, waitFor } from '../support/wait.js'

// Koa 2 ships no types of its own; @types/koa (written for 3) describes the API both share.
const Koa2 = createRequire(import.meta.url)('koa2') as typeof Koa
const versions: [string, typeof Koa][] = [
  ['koa 3', Koa],
  ['koa 2', Koa2],
]

// --- harness -------------------------------------------------------------------------------

async function readJson(ctx: Koa.Context): Promise<Json | undefined> {
  if (ctx.method !== 'POST' || !(ctx.get('content-type') ?? '').includes('json')) return undefined
  const chunks: Buffer[] = []
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json
}

function render(ctx: Koa.Context, result: RouteResult): void {
  if (result.throwStatus !== undefined) ctx.throw(result.throwStatus)
  if (result.redirect !== undefined) {
    ctx.status = 302
    ctx.redirect(result.redirect)
    return
  }
  ctx.status = result.status ?? 200
  if (result.json !== undefined) {
    ctx.body = result.json
    return
  }
  ctx.type = 'text/plain; charset=utf-8'
  ctx.body = result.text ?? ''
}

function koaApp(KoaClass: typeof Koa, options: SessionOptions, routes: AppRoute[]): Koa {
  const app = new KoaClass()
  app.silent = true
  app.use(sessions(options))
  app.use(async (ctx) => {
    const route = routes.find((candidate) => candidate.method === ctx.method && candidate.path === ctx.path)
    if (route !== undefined) render(ctx, await route.handler(ctx.session, await readJson(ctx)))
  })
  return app
}

/** Serves a Koa app on a free loopback port; requests are re-aimed at it. */
async function listen(app: Koa): Promise<RunningApp & { port: number }> {
  const server: Server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    fetch: forwardTo(`http://127.0.0.1:${port}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const stores = [
  { name: 'memory', make: () => new MemoryStore() },
  { name: 'cookie', make: () => new CookieStore() },
]

for (const [version, KoaClass] of versions) {
  const harness: AdapterHarness = {
    name: `${version} (real HTTP, app.listen)`,
    start: async (options, routes) => listen(koaApp(KoaClass, options, routes)),
  }
  defineAdapterConformance({ test: { describe, it }, harness, stores, makeKey: generateKey })
}

// --- a store for the specifics -------------------------------------------------------------


// --- specifics -------------------------------------------------------------------------------

for (const [version, KoaClass] of versions) {
  describe(`${version} adapter specifics`, () => {
    const keys = [generateKey()]
    const quiet = { error: () => {}, warn: () => {} }
    let servers: RunningApp[] = []
    afterEach(async () => {
      await Promise.all(servers.map((server) => server.close()))
      servers = []
    })

    type Route = (ctx: Koa.Context) => unknown
    /**
     * An app with, outside in: an optional outer middleware, the sessions middleware, /login and
     * /whoami, then `route` for every other path.
     */
    async function serve(store: SessionStore, route: Route, extra: { options?: Partial<SessionOptions>; outer?: Koa.Middleware } = {}) {
      const app = new KoaClass()
      app.silent = true
      if (extra.outer !== undefined) app.use(extra.outer)
      app.use(sessions({ store, keys, logger: quiet, ...extra.options }))
      app.use(async (ctx) => {
        if (ctx.path === '/login') {
          ctx.session.insert('user', 'ferris')
          ctx.session.renew()
          ctx.body = { ok: true }
        } else if (ctx.path === '/whoami') {
          ctx.body = { user: (await ctx.session.get('user')) ?? null }
        } else {
          await route(ctx)
        }
      })
      const server = await listen(app)
      servers.push(server)
      const get = (path: string, init: RequestInit = {}): Promise<Response> => server.fetch(new Request(`http://localhost${path}`, init))
      return { app, server, get, login: async () => cookieHeader(await get('/login', { method: 'POST' })) }
    }

    it('a Node stream body carries the session cookie and arrives whole', async () => {
      const { get } = await serve(new MemoryStore(), (ctx) => {
        ctx.session.insert('seen', true)
        ctx.body = Readable.from(['chunk1 ', 'chunk2'])
      })
      const response = await get('/stream')
      expect(sessionCookie(response)).toBeDefined()
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(await response.text()).toBe('chunk1 chunk2')
    })

    it('a buffer body and a JSON body carry the session cookie', async () => {
      const { get } = await serve(new MemoryStore(), (ctx) => {
        ctx.session.insert('seen', true)
        ctx.body = ctx.path === '/buffer' ? Buffer.from('bytes') : { a: 1 }
      })
      const buffer = await get('/buffer')
      expect(sessionCookie(buffer)).toBeDefined()
      expect(await buffer.text()).toBe('bytes')
      const json = await get('/json')
      expect(sessionCookie(json)).toBeDefined()
      expect(await json.json()).toEqual({ a: 1 })
    })

    it('a redirect right after login carries the new cookie, and the store write finished before the head left', async () => {
      const store = new InstrumentedStore()
      const releaseWrite = store.hold('create')
      const timeline: Timeline = {}
      const outer: Koa.Middleware = async (ctx, next) => {
        watchHeadLeaving(ctx.res, timeline)
        await next()
      }
      const { get } = await serve(
        store,
        (ctx) => {
          ctx.session.insert('user', 'ferris')
          ctx.session.renew()
          ctx.redirect('/whoami')
        },
        { outer },
      )
      const responding = get('/login-redirect', { method: 'POST' })
      // The write is held: a head that did not wait for it would leave in the turns the poll spans.
      await waitFor(() => store.calls.create === 1, 'the login write starting')
      await new Promise((resolve) => setImmediate(resolve))
      expect(timeline.headLeftAt).toBeUndefined()
      releaseWrite()
      const response = await responding
      expect(response.status).toBe(302)
      expect(response.headers.get('location')).toBe('/whoami')
      const cookie = cookieHeader(response)
      expect(store.lastWriteDoneAt).toBeDefined()
      expect(timeline.headLeftAt).toBeGreaterThan(store.lastWriteDoneAt!)
      expect(await (await get('/whoami', { headers: { cookie } })).json()).toEqual({ user: 'ferris' })
    })

    it("merges the handler's own Set-Cookie lines (ctx.cookies.set and ctx.append) with the session cookie", async () => {
      const { get } = await serve(new MemoryStore(), (ctx) => {
        ctx.session.insert('a', 1)
        ctx.cookies.set('theme', 'dark', { signed: false })
        ctx.append('Set-Cookie', 'lang=en; Path=/')
        ctx.body = 'ok'
      })
      const names = (await get('/cookies')).headers.getSetCookie().map((line) => line.split('=')[0])
      expect(names.sort()).toEqual(['id', 'lang', 'theme'])
    })

    it('a throwing handler’s error reaches the outer error middleware, and the status it sends decides: 418 commits', async () => {
      const store = new InstrumentedStore()
      const seen: string[] = []
      const outer: Koa.Middleware = async (ctx, next) => {
        try {
          await next()
        } catch (error) {
          seen.push((error as Error).message)
          ctx.status = 418
          ctx.set('cache-control', 'private')
          ctx.body = 'handled'
        }
      }
      const { get } = await serve(
        store,
        (ctx) => {
          ctx.session.insert('a', 1)
          throw new Error('handler bug')
        },
        { outer },
      )
      const response = await get('/throws')
      expect(response.status).toBe(418)
      expect(await response.text()).toBe('handled')
      expect(sessionCookie(response)).toBeDefined()
      // Merged with the headers the error middleware set, not laid under them.
      expect(response.headers.get('cache-control')).toBe('private')
      expect(seen).toEqual(['handler bug'])
      expect(store.writes).toBe(1)
    })

    it('a purge followed by a throw that nothing renders (ctx.respond = false) still deletes the record when the response closes', async () => {
      const store = new InstrumentedStore()
      const outer: Koa.Middleware = async (ctx, next) => {
        try {
          await next()
        } catch {
          ctx.respond = false
          ctx.res.destroy()
        }
      }
      const { get, login } = await serve(
        store,
        (ctx) => {
          ctx.session.purge()
          throw new Error('guard refused')
        },
        { outer },
      )
      const cookie = await login()
      await get('/throws', { headers: { cookie } }).then(
        () => undefined,
        () => undefined,
      )
      await vi.waitFor(() => expect(store.calls.delete).toBe(1))
      expect(await (await get('/whoami', { headers: { cookie } })).json()).toEqual({ user: null })
    })

    it('without an error middleware a throwing handler gets Koa’s own 500 and no cookie', async () => {
      const { get } = await serve(new MemoryStore(), (ctx) => {
        ctx.session.insert('a', 1)
        throw new Error('handler bug')
      })
      const response = await get('/throws')
      expect(response.status).toBe(500)
      expect(response.headers.getSetCookie()).toEqual([])
    })

    it("the session's own store failure, left uncaught, is answered with the empty 500 and not rethrown", async () => {
      const store = new InstrumentedStore()
      const seen: unknown[] = []
      const outer: Koa.Middleware = async (_ctx, next) => {
        try {
          await next()
        } catch (error) {
          seen.push(error)
          throw error
        }
      }
      const { get, login } = await serve(store, async (ctx) => {
        ctx.body = { user: await ctx.session.get('user') }
      }, { outer })
      const cookie = await login()
      store.broken = true
      const response = await get('/read', { headers: { cookie } })
      expect(response.status).toBe(500)
      expect(await response.text()).toBe('')
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(response.headers.get('content-type')).toBeNull()
      expect(seen).toEqual([])
    })

    it('a store failure the handler caught replaces a JSON body with the empty 500, not "null"', async () => {
      const store = new InstrumentedStore()
      const { get, login } = await serve(store, async (ctx) => {
        const user = await ctx.session.get('user').catch(() => 'unknown')
        ctx.set('x-route', 'yes')
        ctx.body = { user }
      })
      const cookie = await login()
      store.broken = true
      const response = await get('/caught', { headers: { cookie } })
      expect(response.status).toBe(500)
      expect(await response.text()).toBe('')
      expect(response.headers.get('x-route')).toBeNull()
      expect(response.headers.get('cache-control')).toBe('no-store')
    })

    it('a store failure the handler caught replaces a stream body, and the stream is destroyed', async () => {
      const store = new InstrumentedStore()
      const stream = Readable.from(['never ', 'sent'])
      const { get, login } = await serve(store, async (ctx) => {
        await ctx.session.get('user').catch(() => undefined)
        ctx.body = stream
      })
      const cookie = await login()
      store.broken = true
      const response = await get('/caught', { headers: { cookie } })
      expect(response.status).toBe(500)
      expect(await response.text()).toBe('')
      expect(stream.destroyed).toBe(true)
    })

    it("onError's own response replaces the reply with its status, headers and body", async () => {
      const store = new InstrumentedStore()
      const onError = (_error: unknown, request: Request | undefined): Response =>
        new Response(`try later (${new URL(request!.url).pathname})`, { status: 503, headers: { 'retry-after': '5' } })
      const { get, login } = await serve(store, () => {}, { options: { onError } })
      const cookie = await login()
      store.broken = true
      const response = await get('/whoami', { headers: { cookie } })
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('5')
      expect(response.headers.get('content-type')).toBe('text/plain;charset=UTF-8')
      expect(await response.text()).toBe('try later (/whoami)')
    })

    it('a 404 (no middleware answered) neither crashes nor sets a cookie', async () => {
      const { get } = await serve(new MemoryStore(), () => {})
      const response = await get('/nowhere')
      expect(response.status).toBe(404)
      expect(await response.text()).toBe('Not Found')
      expect(response.headers.getSetCookie()).toEqual([])
    })

    it('a 404 that wrote the session is committed like any response', async () => {
      const { get } = await serve(new MemoryStore(), (ctx) => {
        ctx.session.insert('missed', ctx.path)
      })
      const response = await get('/nowhere')
      expect(response.status).toBe(404)
      expect(sessionCookie(response)).toBeDefined()
    })

    it('a purge still happens when the client disconnects before the response', async () => {
      const store = new InstrumentedStore()
      const inHandler = gate()
      let disconnected!: Promise<unknown>
      const { server, get, login } = await serve(store, async (ctx) => {
        await ctx.session.get('user')
        disconnected = once(ctx.res, 'close')
        await inHandler.pass()
        ctx.session.purge()
        ctx.body = 'bye'
      })
      const cookie = await login()
      const writesBefore = store.writes
      const controller = new AbortController()
      const aborted = fetch(`http://127.0.0.1:${server.port}/slow-logout`, { method: 'POST', headers: { cookie }, signal: controller.signal })
      await inHandler.reached
      controller.abort()
      await expect(aborted).rejects.toThrow()
      // The server has seen the connection go before the handler purges.
      await hangGuard(disconnected, 'the server seeing the client leave')
      inHandler.open()
      await waitFor(() => store.writes > writesBefore, 'the purge reaching the store')
      expect(store.writes).toBe(writesBefore + 1)
      expect(await (await get('/whoami', { headers: { cookie } })).json()).toEqual({ user: null })
    })

    it('ctx.respond = false is outside the guarantee, but the store is still written and nothing crashes', async () => {
      const store = new InstrumentedStore()
      const { get } = await serve(store, (ctx) => {
        ctx.session.insert('a', 1)
        ctx.respond = false
        ctx.res.writeHead(200, { 'content-type': 'text/plain' })
        ctx.res.end('raw')
      })
      const response = await get('/raw')
      expect(await response.text()).toBe('raw')
      expect(response.headers.getSetCookie()).toEqual([])
      expect(store.writes).toBe(1)
      expect((await get('/login', { method: 'POST' })).status).toBe(200)
    })

    it('ctx.session, ctx.state.session and getSession(ctx) are the same session', async () => {
      const { get } = await serve(new MemoryStore(), (ctx) => {
        ctx.body = { same: ctx.session === ctx.state.session && getSession(ctx) === ctx.session }
      })
      expect(await (await get('/same')).json()).toEqual({ same: true })
    })

    it('getSession(ctx) without the middleware throws a message that names the fix', async () => {
      const app = new KoaClass()
      app.silent = true
      app.use(async (ctx) => {
        try {
          getSession(ctx)
        } catch (error) {
          ctx.body = (error as Error).message
        }
      })
      const server = await listen(app)
      servers.push(server)
      expect(await (await server.fetch(new Request('http://localhost/'))).text()).toMatch(/app\.use\(sessions\(options\)\)/)
    })
  })
}

describe('koa adapter setup', () => {
  it('a bad option throws when the middleware is created, not on a request', () => {
    expect(() => sessions({ store: new MemoryStore(), keys: ['short'] })).toThrow(/at least 32/)
  })

  it('a Koa 3 web ReadableStream body carries the session cookie', async () => {
    const app = new Koa()
    app.use(sessions({ store: new MemoryStore(), keys: [generateKey()] }))
    app.use(async (ctx) => {
      ctx.session.insert('seen', true)
      ctx.body = new Blob(['web ', 'stream']).stream()
    })
    const server = await listen(app)
    try {
      const response = await server.fetch(new Request('http://localhost/'))
      expect(sessionCookie(response)).toBeDefined()
      expect(await response.text()).toBe('web stream')
    } finally {
      await server.close()
    }
  })
})
