import { Hono, type Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { describe, expect, it } from 'vitest'
import { getSession, sessions } from '../../src/adapters/hono/index.js'
import type { SessionOptions } from '../../src/core/options.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { defineAdapterConformance, type AdapterHarness, type AppRoute, type RouteResult } from '../../src/testing/adapter-conformance.js'
import { jsonBody, overHttp } from '../support/harness.js'
import { cookieHeader, sessionCookie } from '../support/http.js'

function render(c: Context, result: RouteResult): Response {
  if (result.throwStatus !== undefined) throw new HTTPException(result.throwStatus as ContentfulStatusCode)
  const status = (result.status ?? 200) as 200
  if (result.redirect !== undefined) return c.redirect(result.redirect, 302)
  if (result.json !== undefined) return c.json(result.json, status)
  return c.text(result.text ?? '', status)
}

function honoApp(options: SessionOptions, routes: AppRoute[]): Hono {
  const app = new Hono()
  app.use(sessions(options))
  for (const route of routes) {
    app.on(route.method, route.path, async (c) => render(c, await route.handler(c.get('session'), await jsonBody(c.req.raw))))
  }
  return app
}

const inProcess: AdapterHarness = {
  name: 'hono (in-process, app.request)',
  start: async (options, routes) => {
    const app = honoApp(options, routes)
    return { fetch: async (request) => app.request(request), close: async () => {} }
  },
}

const overRealHttp: AdapterHarness = {
  name: 'hono (real HTTP, @hono/node-server)',
  start: async (options, routes) => overHttp(honoApp(options, routes).fetch),
}

const stores = [
  { name: 'memory', make: () => new MemoryStore() },
  { name: 'cookie', make: () => new CookieStore() },
]

for (const harness of [inProcess, overRealHttp]) {
  defineAdapterConformance({ test: { describe, it }, harness, stores, makeKey: generateKey })
}

describe('hono adapter specifics', () => {
  const keys = [generateKey()]

  it("keeps the handler's own Set-Cookie next to the session cookie (Hono's c.res merge)", async () => {
    const app = new Hono()
    app.use(sessions({ store: new MemoryStore(), keys }))
    app.get('/', (c) => {
      c.get('session').insert('a', 1)
      c.header('set-cookie', 'theme=dark', { append: true })
      return c.text('ok')
    })
    const response = await app.request('/')
    const names = response.headers.getSetCookie().map((line) => line.split('=')[0])
    expect(names.sort()).toEqual(['id', 'theme'])
  })

  it('keeps Set-Cookie lines set by a middleware mounted before ours when the cookie is set', async () => {
    const app = new Hono()
    app.use(async (c, next) => {
      await next()
      c.res.headers.append('set-cookie', 'outer=1')
    })
    app.use(sessions({ store: new MemoryStore(), keys }))
    app.get('/', (c) => {
      c.get('session').insert('a', 1)
      return c.text('ok')
    })
    const names = (await app.request('/')).headers.getSetCookie().map((line) => line.split('=')[0])
    expect(names.sort()).toEqual(['id', 'outer'])
  })

  it('a handler that throws commits by the status app.onError renders: 418 commits, 500 does not', async () => {
    const app = new Hono()
    app.use(sessions({ store: new MemoryStore(), keys }))
    app.get('/', (c) => {
      c.get('session').insert('a', 1)
      throw new Error(c.req.query('answer') ?? '500')
    })
    app.onError((error, c) => c.text(`handled: ${error.message}`, Number(error.message) as 418 | 500))
    const failed = await app.request('/?answer=500')
    expect(failed.status).toBe(500)
    expect(failed.headers.getSetCookie()).toEqual([])
    const handled = await app.request('/?answer=418')
    expect(handled.status).toBe(418)
    // Headers before the body: once @hono/node-server has replaced the global Response (the real-HTTP
    // runs above), reading the body rebuilds the response from its original headers.
    expect(sessionCookie(handled)).toBeDefined()
    expect(await handled.text()).toBe('handled: 418')
  })

  it('a purge followed by an error that escapes the middleware (a thrown non-Error) still deletes the record', async () => {
    const store = new MemoryStore()
    const app = new Hono()
    app.use(sessions({ store, keys }))
    app.post('/login', (c) => (c.get('session').insert('user', 'ferris'), c.text('ok')))
    app.get('/whoami', async (c) => c.text(String((await c.get('session').get('user')) ?? 'nobody')))
    app.post('/logout', (c) => {
      c.get('session').purge()
      throw 'not an Error'
    })
    const cookie = cookieHeader(await app.request('/login', { method: 'POST' }))
    await expect(app.request('/logout', { method: 'POST', headers: { cookie } })).rejects.toBe('not an Error')
    expect(await (await app.request('/whoami', { headers: { cookie } })).text()).toBe('nobody')
  })

  it('a 404 route neither crashes nor sets a cookie', async () => {
    const app = new Hono()
    app.use(sessions({ store: new MemoryStore(), keys }))
    const response = await app.request('/missing')
    expect(response.status).toBe(404)
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it("merges Vary with the handler's own", async () => {
    const app = new Hono()
    app.use(sessions({ store: new MemoryStore(), keys }))
    app.get('/', async (c) => {
      await c.get('session').get('a')
      c.header('vary', 'Accept-Encoding')
      return c.text('ok')
    })
    expect((await app.request('/')).headers.get('vary')).toBe('Accept-Encoding, Cookie')
  })

  it('getSession(c) returns the same session as c.get("session")', async () => {
    const app = new Hono()
    app.use(sessions({ store: new MemoryStore(), keys }))
    app.get('/', (c) => c.text(String(getSession(c) === c.get('session'))))
    expect(await (await app.request('/')).text()).toBe('true')
  })

  it('getSession(c) without the middleware throws a message that names the fix', async () => {
    const app = new Hono()
    app.get('/', (c) => c.text(String(getSession(c))))
    app.onError((error, c) => c.text(error.message, 500))
    expect(await (await app.request('/')).text()).toMatch(/app\.use\(sessions\(options\)\)/)
  })

  it('a bad option throws when the middleware is created, not on a request', () => {
    expect(() => sessions({ store: new MemoryStore(), keys: ['short'] })).toThrow(/at least 32/)
  })

  it('serves a streamed body with the session cookie', async () => {
    const app = new Hono()
    app.use(sessions({ store: new MemoryStore(), keys }))
    app.get('/', (c) => {
      c.get('session').insert('a', 1)
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('chunk1 '))
          controller.enqueue(new TextEncoder().encode('chunk2'))
          controller.close()
        },
      })
      return c.body(body)
    })
    const response = await app.request('/')
    expect(sessionCookie(response)).toBeDefined()
    expect(await response.text()).toBe('chunk1 chunk2')
  })
})
