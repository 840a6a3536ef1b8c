import type { SessionStore } from '../../src/core/store.js'
import { forwardTo } from '../support/harness.js'
import { InstrumentedStore } from '../support/stores.js'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import fastifySessions, { getSession, sessions } from '../../src/adapters/fastify/index.js'
import { ConfigError } from '../../src/core/errors.js'
import type { Json } from '../../src/core/json.js'
import type { SessionOptions } from '../../src/core/options.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { defineAdapterConformance, type AdapterHarness, type AppRoute, type RouteResult, type RunningApp } from '../../src/testing/adapter-conformance.js'
import { watchHeadLeaving, type Timeline } from '../support/node-http-harness.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { gate, hangGuard, waitFor } from '../support/wait.js'

// --- harness -------------------------------------------------------------------------------

function render(reply: FastifyReply, result: RouteResult): FastifyReply {
  if (result.throwStatus !== undefined) throw Object.assign(new Error('refused'), { statusCode: result.throwStatus })
  if (result.redirect !== undefined) return reply.redirect(result.redirect, 302)
  reply.code(result.status ?? 200)
  if (result.json !== undefined) return reply.send(result.json)
  return reply.type('text/plain; charset=utf-8').send(result.text ?? '')
}

async function fastifyApp(options: SessionOptions, routes: AppRoute[]): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(sessions, options)
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => render(reply, await route.handler(request.session, request.body as Json | undefined)),
    })
  }
  return app
}

/** Sends a web Request through `app.inject` and turns the answer back into a web Response. */
async function injectFetch(app: FastifyInstance, request: Request): Promise<Response> {
  const url = new URL(request.url)
  const body = request.method === 'GET' ? '' : await request.text()
  const answer = await app.inject({
    method: request.method as 'GET' | 'POST',
    url: url.pathname + url.search,
    headers: Object.fromEntries(request.headers),
    ...(body === '' ? {} : { payload: body }),
  })
  const headers = new Headers()
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue
    for (const line of Array.isArray(value) ? value : [String(value)]) headers.append(name, line)
  }
  const bodiless = [204, 304].includes(answer.statusCode)
  return new Response(bodiless ? null : answer.rawPayload, { status: answer.statusCode, headers })
}

/** Listens on a free loopback port; requests are re-aimed at it. */
async function listen(app: FastifyInstance): Promise<RunningApp & { port: number }> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return {
    port,
    fetch: forwardTo(`http://127.0.0.1:${port}`),
    close: () => app.close(),
  }
}

const inProcess: AdapterHarness = {
  name: 'fastify (in-process, inject)',
  start: async (options, routes) => {
    const app = await fastifyApp(options, routes)
    await app.ready()
    return { fetch: (request) => injectFetch(app, request), close: () => app.close() }
  },
}

const overRealHttp: AdapterHarness = {
  name: 'fastify (real HTTP, app.listen)',
  start: async (options, routes) => listen(await fastifyApp(options, routes)),
}

const stores = [
  { name: 'memory', make: () => new MemoryStore() },
  { name: 'cookie', make: () => new CookieStore() },
]

for (const harness of [inProcess, overRealHttp]) {
  defineAdapterConformance({ test: { describe, it }, harness, stores, makeKey: generateKey })
}

// --- stores for the specifics ----------------------------------------------------------------


// --- specifics -------------------------------------------------------------------------------

describe('fastify adapter specifics', () => {
  const keys = [generateKey()]
  const quiet = { error: () => {}, warn: () => {} }
  let apps: FastifyInstance[] = []
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()))
    apps = []
  })

  async function appWith(store: SessionStore, options: Partial<SessionOptions> = {}): Promise<FastifyInstance> {
    const app = Fastify()
    apps.push(app)
    await app.register(sessions, { store, keys, logger: quiet, ...options })
    app.post('/login', async (request) => {
      request.session.insert('user', 'ferris')
      request.session.renew()
      return { ok: true }
    })
    app.get('/whoami', async (request) => ({ user: (await request.session.get('user')) ?? null }))
    return app
  }

  async function loginCookie(app: FastifyInstance): Promise<string> {
    return cookieHeader(await injectFetch(app, new Request('http://localhost/login', { method: 'POST' })))
  }

  const payloads: [string, () => unknown, string][] = [
    ['a string', () => 'plain text', 'plain text'],
    ['an object (serialised JSON)', () => ({ a: 1 }), '{"a":1}'],
    ['a buffer', () => Buffer.from('bytes'), 'bytes'],
    ['a Node stream', () => Readable.from(['chunk1 ', 'chunk2']), 'chunk1 chunk2'],
    ['a web ReadableStream', () => new Blob(['web ', 'stream']).stream(), 'web stream'],
  ]
  for (const [kind, make, text] of payloads) {
    it(`reply.send of ${kind} carries the session cookie and the body intact over real HTTP`, async () => {
      const app = await appWith(new MemoryStore())
      app.get('/payload', async (request, reply) => {
        request.session.insert('seen', true)
        return reply.send(make())
      })
      const server = await listen(app)
      const response = await server.fetch(new Request('http://localhost/payload'))
      expect(response.status).toBe(200)
      expect(sessionCookie(response)).toBeDefined()
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(await response.text()).toBe(text)
    })
  }

  it("a web Response payload keeps its status and own cookie, and its public Cache-Control becomes no-store", async () => {
    const app = await appWith(new MemoryStore())
    app.get('/response', async (request, reply) => {
      request.session.insert('seen', true)
      const headers = new Headers({ 'cache-control': 'public, max-age=60', 'content-type': 'text/plain' })
      headers.append('set-cookie', 'theme=dark')
      return reply.send(new Response('from a Response', { status: 201, headers }))
    })
    const response = await injectFetch(app, new Request('http://localhost/response'))
    expect(response.status).toBe(201)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.getSetCookie().map((line) => line.split('=')[0]).sort()).toEqual(['id', 'theme'])
    expect(await response.text()).toBe('from a Response')
  })

  it('reply.redirect right after login carries the new cookie, and the store write finished before the head left', async () => {
    const store = new InstrumentedStore()
    const releaseWrite = store.hold('create')
    const app = Fastify()
    apps.push(app)
    const timeline: Timeline = {}
    app.addHook('onRequest', async (_request, reply) => watchHeadLeaving(reply.raw, timeline))
    await app.register(sessions, { store, keys })
    app.post('/login', async (request, reply) => {
      request.session.insert('user', 'ferris')
      request.session.renew()
      return reply.redirect('/whoami', 302)
    })
    app.get('/whoami', async (request) => ({ user: (await request.session.get('user')) ?? null }))
    const server = await listen(app)
    const responding = server.fetch(new Request('http://localhost/login', { method: 'POST' }))
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
    const followed = await server.fetch(new Request('http://localhost/whoami', { headers: { cookie } }))
    expect(await followed.json()).toEqual({ user: 'ferris' })
  })

  it("merges the route's own reply.header('set-cookie') with the session cookie", async () => {
    const app = await appWith(new MemoryStore())
    app.get('/theme', async (request, reply) => {
      request.session.insert('a', 1)
      reply.header('set-cookie', 'theme=dark; Path=/')
      return 'ok'
    })
    const response = await injectFetch(app, new Request('http://localhost/theme'))
    expect(response.headers.getSetCookie().map((line) => line.split('=')[0]).sort()).toEqual(['id', 'theme'])
  })

  it("merges Vary and keeps a private Cache-Control the route set", async () => {
    const app = await appWith(new MemoryStore())
    app.get('/vary', async (request, reply) => {
      await request.session.get('a')
      request.session.insert('a', 1)
      reply.header('vary', 'Accept-Encoding').header('cache-control', 'private, max-age=5')
      return 'ok'
    })
    const response = await injectFetch(app, new Request('http://localhost/vary'))
    expect(response.headers.get('vary')).toBe('Accept-Encoding, Cookie')
    expect(response.headers.get('cache-control')).toBe('private, max-age=5')
  })

  it('a route that throws commits nothing, and Fastify renders its error', async () => {
    const store = new InstrumentedStore()
    const app = await appWith(store)
    app.get('/throws', async (request) => {
      request.session.insert('a', 1)
      throw new Error('handler bug')
    })
    const response = await injectFetch(app, new Request('http://localhost/throws'))
    expect(response.status).toBe(500)
    expect(((await response.json()) as { message: string }).message).toBe('handler bug')
    expect(response.headers.getSetCookie()).toEqual([])
    expect(store.writes).toBe(0)
  })

  it('a route that throws commits by the status the error handler sends: 418 commits, 500 does not', async () => {
    const store = new InstrumentedStore()
    const app = await appWith(store)
    app.setErrorHandler((error, _request, reply) => reply.code((error as { answer?: number }).answer ?? 500).send({ handled: (error as Error).message }))
    app.get('/throws', async (request) => {
      request.session.insert('a', 1)
      // A 4xx thrown and answered with a 500, a plain error answered with a 418.
      throw Object.assign(new Error('bad input'), { statusCode: 400, answer: (request.query as { answer?: string }).answer === '418' ? 418 : 500 })
    })
    const failed = await injectFetch(app, new Request('http://localhost/throws?answer=500'))
    expect(failed.status).toBe(500)
    expect(failed.headers.getSetCookie()).toEqual([])
    expect(store.writes).toBe(0)
    const handled = await injectFetch(app, new Request('http://localhost/throws?answer=418'))
    expect(handled.status).toBe(418)
    expect(sessionCookie(handled)).toBeDefined()
    expect(store.writes).toBe(1)
  })

  it("a route that lets the session's own store failure escape gets the empty 500, not Fastify's error body", async () => {
    const store = new InstrumentedStore()
    const app = await appWith(store)
    const cookie = await loginCookie(app)
    store.broken = true
    const response = await injectFetch(app, new Request('http://localhost/whoami', { headers: { cookie } }))
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('content-type')).toBeNull()
  })

  it('a store failure the route caught replaces its streamed reply, and the stream is destroyed', async () => {
    const store = new InstrumentedStore()
    const app = await appWith(store)
    const stream = Readable.from(['never ', 'sent'])
    app.get('/caught', async (request, reply) => {
      await request.session.get('user').catch(() => undefined)
      reply.header('x-route', 'yes').header('content-type', 'text/plain')
      return reply.send(stream)
    })
    const server = await listen(app)
    const cookie = await loginCookie(app)
    store.broken = true
    const response = await server.fetch(new Request('http://localhost/caught', { headers: { cookie } }))
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('')
    expect(response.headers.get('x-route')).toBeNull()
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(stream.destroyed).toBe(true)
  })

  it("onError's own response replaces the reply with its status, headers and body", async () => {
    const store = new InstrumentedStore()
    const onError = (_error: unknown, request: Request | undefined): Response =>
      new Response(`try later (${new URL(request!.url).pathname})`, { status: 503, headers: { 'retry-after': '5' } })
    const app = await appWith(store, { onError })
    const cookie = await loginCookie(app)
    store.broken = true
    const response = await injectFetch(app, new Request('http://localhost/whoami', { headers: { cookie } }))
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('5')
    expect(await response.text()).toBe('try later (/whoami)')
  })

  it('the 404 handler is committed too: a not-found handler that writes the session sets the cookie', async () => {
    const app = await appWith(new MemoryStore())
    app.setNotFoundHandler(async (request, reply) => {
      request.session.insert('missed', request.url)
      return reply.code(404).send({ missing: request.url })
    })
    const response = await injectFetch(app, new Request('http://localhost/nowhere'))
    expect(response.status).toBe(404)
    expect(sessionCookie(response)).toBeDefined()
  })

  it('the default 404 neither crashes nor sets a cookie', async () => {
    const app = await appWith(new MemoryStore())
    const response = await injectFetch(app, new Request('http://localhost/nowhere'))
    expect(response.status).toBe(404)
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('an error payload sent with a 4xx status is committed like any reply', async () => {
    const app = await appWith(new MemoryStore())
    app.post('/form', async (request, reply) => {
      request.session.insert('attempts', 1)
      return reply.code(422).send({ error: 'invalid form' })
    })
    const response = await injectFetch(app, new Request('http://localhost/form', { method: 'POST' }))
    expect(response.status).toBe(422)
    expect(sessionCookie(response)).toBeDefined()
  })

  it('registering the plugin twice in one scope fails at ready() with a ConfigError naming the cause', async () => {
    const app = Fastify()
    apps.push(app)
    app.register(sessions, { store: new MemoryStore(), keys })
    app.register(sessions, { store: new MemoryStore(), keys })
    const failure = await app.ready().then(() => undefined, (error: unknown) => error)
    expect(failure).toBeInstanceOf(ConfigError)
    expect((failure as Error).message).toMatch(/once per scope chain/)
  })

  it('registering the plugin again in a child of a scope that has it fails too (two commits per reply otherwise)', async () => {
    const app = Fastify()
    apps.push(app)
    app.register(sessions, { store: new MemoryStore(), keys })
    app.register(async (child) => {
      await child.register(sessions, { store: new MemoryStore(), keys })
    })
    await expect(app.ready()).rejects.toBeInstanceOf(ConfigError)
  })

  it('a bad option makes register fail with the ConfigError', async () => {
    const app = Fastify()
    apps.push(app)
    const failure = await Promise.resolve(app.register(sessions, { store: new MemoryStore(), keys: ['short'] })).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(ConfigError)
    expect((failure as Error).message).toMatch(/at least 32/)
  })

  it('sessions registered in a child scope are not visible in a sibling scope', async () => {
    const app = Fastify()
    apps.push(app)
    app.register(async (child) => {
      await child.register(sessions, { store: new MemoryStore(), keys })
      child.get('/child', async (request) => ({ has: request.session !== null && request.session !== undefined }))
    })
    app.register(async (sibling) => {
      sibling.get('/sibling', async (request) => {
        try {
          getSession(request)
          return { has: true }
        } catch (error) {
          return { has: 'session' in request && request.session != null, message: (error as Error).message }
        }
      })
    })
    expect(await (await injectFetch(app, new Request('http://localhost/child'))).json()).toEqual({ has: true })
    const sibling = (await (await injectFetch(app, new Request('http://localhost/sibling'))).json()) as { has: boolean; message: string }
    expect(sibling.has).toBe(false)
    expect(sibling.message).toMatch(/app\.register\(sessions, options\)/)
  })

  it('getSession(request) returns request.session, and the default export is the plugin', async () => {
    expect(fastifySessions).toBe(sessions)
    const app = await appWith(new MemoryStore())
    app.get('/same', async (request) => ({ same: getSession(request) === request.session }))
    expect(await (await injectFetch(app, new Request('http://localhost/same'))).json()).toEqual({ same: true })
  })

  it('a purge still happens when the client disconnects before the reply', async () => {
    const store = new InstrumentedStore()
    const app = await appWith(store)
    const inHandler = gate()
    let disconnected!: Promise<unknown>
    app.post('/slow-logout', async (request, reply) => {
      await request.session.get('user')
      disconnected = once(reply.raw, 'close')
      await inHandler.pass()
      request.session.purge()
      return 'bye'
    })
    const server = await listen(app)
    const cookie = await loginCookie(app)
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
    const after = await server.fetch(new Request('http://localhost/whoami', { headers: { cookie } }))
    expect(await after.json()).toEqual({ user: null })
  })

  it('reply.hijack() with raw writes is outside the guarantee but nothing crashes', async () => {
    const app = await appWith(new MemoryStore())
    app.get('/hijacked', async (request, reply) => {
      request.session.insert('lost', true)
      reply.hijack()
      reply.raw.writeHead(200, { 'content-type': 'text/plain' })
      reply.raw.end('raw')
    })
    const server = await listen(app)
    const response = await server.fetch(new Request('http://localhost/hijacked'))
    expect(await response.text()).toBe('raw')
    expect(response.headers.getSetCookie()).toEqual([])
    const next = await server.fetch(new Request('http://localhost/login', { method: 'POST' }))
    expect(sessionCookie(next)).toBeDefined()
  })

  it('a HEAD request to a route that writes the session gets the cookie without a body', async () => {
    const app = await appWith(new MemoryStore())
    app.get('/head', async (request) => (request.session.insert('a', 1), 'body'))
    const server = await listen(app)
    const response = await new Promise<{ status: number; cookies: string[] }>((resolve, reject) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port: server.port, path: '/head', method: 'HEAD' }, (incoming) => {
        incoming.resume()
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, cookies: incoming.headers['set-cookie'] ?? [] }))
      })
      outgoing.on('error', reject)
      outgoing.end()
    })
    expect(response.status).toBe(200)
    expect(response.cookies.some((line) => line.startsWith('id='))).toBe(true)
  })
})
