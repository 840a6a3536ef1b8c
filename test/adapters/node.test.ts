import type { IncomingMessage, ServerResponse } from 'node:http'
import { request as httpRequest } from 'node:http'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { getSession, withSessions, type NodeSessionOptions, type SessionRequestHandler } from '../../src/adapters/node/index.js'
import type { Json } from '../../src/core/json.js'
import type { Session } from '../../src/core/session.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { defineAdapterConformance, type AdapterHarness, type AppRoute, type RouteResult } from '../../src/testing/adapter-conformance.js'
import { listen, rawExchange, sleep } from '../support/node-http-harness.js'
import type { Loopback } from '../support/node-http-harness.js'
import { cookiePair, requestRaw } from './client.js'
import { InstrumentedStore } from '../support/stores.js'
import { serveListener } from './node-app-harness.js'

async function readJson(req: IncomingMessage): Promise<Json | undefined> {
  if (req.method !== 'POST' || !(req.headers['content-type'] ?? '').includes('json')) return undefined
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json
}

function render(res: ServerResponse, result: RouteResult): void {
  if (result.redirect !== undefined) {
    res.writeHead(302, { location: result.redirect }).end()
    return
  }
  res.statusCode = result.status ?? 200
  if (result.json !== undefined) {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(result.json))
    return
  }
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(result.text ?? '')
}

function conformanceListener(options: NodeSessionOptions, routes: AppRoute[]): (req: IncomingMessage, res: ServerResponse) => void {
  return withSessions(options, async (req, res, session) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const route = routes.find((candidate) => candidate.method === req.method && candidate.path === path)
    if (route === undefined) {
      res.statusCode = 404
      res.end('not found')
      return
    }
    render(res, await route.handler(session, await readJson(req)))
  })
}

const harness: AdapterHarness = {
  name: 'node:http (real HTTP, loopback)',
  start: async (options, routes) => serveListener(conformanceListener({ onHandlerError: () => {}, ...options }, routes)),
  // node:http has no error handling of its own: every throw is a 500.
  rendersThrownStatus: false,
}

defineAdapterConformance({
  test: { describe, it },
  harness,
  stores: [
    { name: 'memory', make: () => new MemoryStore() },
    { name: 'cookie', make: () => new CookieStore() },
  ],
  makeKey: generateKey,
})

const SECRET = 'connection refused at db-internal.example:6379 (secret detail)'

describe('node:http adapter', () => {
  let server: Loopback | undefined
  let store: InstrumentedStore
  let reported: unknown[]
  let unhandled: unknown[]
  const onUnhandled = (error: unknown): void => void unhandled.push(error)

  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled)
    await server?.close()
    server = undefined
    vi.restoreAllMocks()
  })

  /** Serves `handler` (with /login and /whoami beside it); errors go to `reported`. */
  async function serve(handler: SessionRequestHandler, options: Partial<NodeSessionOptions> = {}): Promise<Loopback> {
    store = new InstrumentedStore()
    reported = []
    unhandled = []
    process.on('unhandledRejection', onUnhandled)
    const listener = withSessions(
      {
        store,
        keys: [generateKey()],
        logger: { error: () => {} },
        onHandlerError: (error) => void reported.push(error),
        ...options,
      },
      async (req, res, session) => {
        if (req.url === '/login') {
          session.insert('user', 'ferris')
          session.renew()
          res.writeHead(302, { location: '/' }).end()
          return
        }
        if (req.url === '/whoami') {
          res.end(JSON.stringify({ user: (await session.get('user')) ?? null }))
          return
        }
        return handler(req, res, session)
      },
    )
    server = await listen(listener)
    return server
  }

  async function login(): Promise<string> {
    return cookiePair((await requestRaw(`${server!.url}/login`, { method: 'POST' })).headers)
  }

  it('a synchronous handler ending with res.end carries the session cookie', async () => {
    await serve((_req, res, session) => {
      session.insert('n', 1)
      res.end('sync')
    })
    const response = await fetch(`${server!.url}/`)
    expect(await response.text()).toBe('sync')
    expect(response.headers.getSetCookie()).toHaveLength(1)
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it("writeHead's own headers, Set-Cookie included, are merged with the session's", async () => {
    await serve((_req, res, session) => {
      session.insert('n', 1)
      res.writeHead(201, { 'set-cookie': ['theme=dark'], vary: 'Accept-Encoding', 'content-type': 'text/plain' }).end('made')
    })
    const response = await fetch(`${server!.url}/`)
    expect(response.status).toBe(201)
    expect(response.headers.getSetCookie().map((line) => line.split('=')[0]).sort()).toEqual(['id', 'theme'])
  })

  it('a redirect after login arrives only after the store created the record, with the cookie on it', async () => {
    await serve(() => {})
    store.delayMs = 60
    const received = await requestRaw(`${server!.url}/login`, { method: 'POST' })
    expect(received.status).toBe(302)
    const created = store.events.find((event) => event.call === 'create')
    expect(created!.settledAt).toBeLessThan(received.headAt)
    store.delayMs = 0
    const whoami = await requestRaw(`${server!.url}/whoami`, { headers: { cookie: cookiePair(received.headers) } })
    expect(JSON.parse(whoami.body.toString())).toEqual({ user: 'ferris' })
  })

  it('a piped 4 MiB stream carries the session cookie and arrives whole', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'y')
    await serve((_req, res, session) => {
      session.insert('streamed', true)
      Readable.from((function* () {
        for (let i = 0; i < 64; i++) yield chunk
      })()).pipe(res)
    })
    const response = await fetch(`${server!.url}/`)
    expect(response.headers.getSetCookie()).toHaveLength(1)
    expect((await response.arrayBuffer()).byteLength).toBe(64 * chunk.length)
  })

  it('a synchronous throw before anything was sent is an empty 500 with no-store, and nothing is committed', async () => {
    await serve((_req, res, session) => {
      session.insert('half', 'made')
      res.setHeader('x-leak', 'handler header')
      throw new Error('handler bug')
    })
    const received = await requestRaw(`${server!.url}/`)
    expect(received.status).toBe(500)
    expect(received.body.toString()).toBe('')
    expect(received.headers['cache-control']).toBe('no-store')
    expect(received.headers['set-cookie']).toBeUndefined()
    expect(received.headers['x-leak']).toBeUndefined()
    expect(store.callOrder()).toEqual([])
    expect(store.inFlight).toBe(0)
  })

  it('the thrown error goes to onHandlerError with its request', async () => {
    const seen: string[] = []
    await serve(
      () => {
        throw new Error('handler bug')
      },
      { onHandlerError: (error, req) => void seen.push(`${(error as Error).message} at ${req.url}`) },
    )
    await requestRaw(`${server!.url}/page`)
    expect(seen).toEqual(['handler bug at /page'])
  })

  it('an async handler that rejects is an empty 500, reported, with no unhandled rejection', async () => {
    await serve(async (_req, _res, session) => {
      session.insert('half', 'made')
      await sleep(5)
      throw new Error('async bug')
    })
    const received = await requestRaw(`${server!.url}/`)
    expect(received.status).toBe(500)
    expect(received.headers['set-cookie']).toBeUndefined()
    expect(reported.map((error) => (error as Error).message)).toEqual(['async bug'])
    await sleep(10)
    expect(unhandled).toEqual([])
    expect(store.callOrder()).toEqual([])
  })

  it('a throw after the head and part of the body went out destroys the connection', async () => {
    await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('partial ')
      await sleep(5)
      throw new Error('mid-body bug')
    })
    const bytes = await rawExchange(server!.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    const text = bytes.toString()
    expect(text).toMatch(/^HTTP\/1\.1 200/)
    // Chunked, never terminated: the client can tell the reply was cut short.
    expect(text).not.toContain('\r\n0\r\n\r\n')
    expect(reported).toHaveLength(1)
  })

  it('a throw after the reply was finished leaves the reply as sent, and reports the error', async () => {
    await serve((_req, res, session) => {
      session.insert('n', 1)
      res.end('done')
      throw new Error('late bug')
    })
    const response = await fetch(`${server!.url}/`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('done')
    expect(reported.map((error) => (error as Error).message)).toEqual(['late bug'])
  })

  it('the default onHandlerError is console.error', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const listener = withSessions({ store: new MemoryStore(), keys: [generateKey()] }, () => {
      throw new Error('to the console')
    })
    server = await listen(listener)
    await requestRaw(`${server.url}/x`)
    expect(errors).toHaveBeenCalledTimes(1)
    expect(errors.mock.calls[0]).toContainEqual(expect.objectContaining({ message: 'to the console' }))
  })

  it('an onHandlerError that throws still leaves an empty 500 and no unhandled rejection', async () => {
    await serve(
      async () => {
        throw new Error('handler bug')
      },
      {
        onHandlerError: () => {
          throw new Error('reporter bug')
        },
      },
    )
    const received = await requestRaw(`${server!.url}/`)
    expect(received.status).toBe(500)
    await sleep(10)
    expect(unhandled).toEqual([])
  })

  it("the session's own store failure, rethrown, is the manager's empty 500 with no error text", async () => {
    await serve(async (_req, res, session) => {
      const user = await session.get('user')
      res.end(`hello ${String(user)}`)
    })
    const cookie = await login()
    store.brokenWith = SECRET
    const received = await requestRaw(`${server!.url}/`, { headers: { cookie } })
    expect(received.status).toBe(500)
    expect(received.body.toString()).toBe('')
    expect(received.headers['cache-control']).toBe('no-store')
    expect(received.headers['set-cookie']).toBeUndefined()
    // The manager logs its store failures; the handler did nothing wrong of its own.
    expect(reported).toEqual([])
  })

  it("the session's own store failure, rethrown, is rendered by onError when given", async () => {
    await serve(
      async (_req, res, session) => {
        res.end(String(await session.get('user')))
      },
      { onError: () => new Response('later', { status: 503 }) },
    )
    const cookie = await login()
    store.brokenWith = SECRET
    const received = await requestRaw(`${server!.url}/`, { headers: { cookie } })
    expect(received.status).toBe(503)
    expect(received.body.toString()).toBe('later')
  })

  it('a client that disconnects mid-request crashes nothing, and the purge still reaches the store', async () => {
    let handlerStarted: () => void = () => {}
    const started = new Promise<void>((resolve) => (handlerStarted = resolve))
    let handlerDone: () => void = () => {}
    const finished = new Promise<void>((resolve) => (handlerDone = resolve))
    await serve(async (_req, res, session) => {
      session.purge()
      // Answer only once the client has gone.
      const gone = new Promise((resolve) => res.once('close', resolve))
      handlerStarted()
      await gone
      res.end('bye')
      handlerDone()
    })
    const cookie = await login()
    const req = httpRequest(`${server!.url}/logout`, { headers: { cookie } })
    req.on('error', () => {})
    req.end()
    await started
    req.destroy()
    await finished
    const deadline = performance.now() + 2000
    while (!store.callOrder().includes('delete') && performance.now() < deadline) await sleep(5)
    expect(store.callOrder()).toContain('delete')
    expect(unhandled).toEqual([])
    const whoami = await requestRaw(`${server!.url}/whoami`, { headers: { cookie } })
    expect(JSON.parse(whoami.body.toString())).toEqual({ user: null })
  })

  it('getSession(req) returns the session the handler was given', async () => {
    await serve((req, res, session) => void res.end(String(getSession(req) === session)))
    expect(await (await fetch(`${server!.url}/`)).text()).toBe('true')
  })

  it('getSession(req) on a request not served by withSessions throws a message that names the fix', async () => {
    server = await listen((req, res) => {
      try {
        getSession(req)
        res.end('no throw')
      } catch (error) {
        res.end((error as Error).message)
      }
    })
    expect(await (await fetch(`${server.url}/`)).text()).toMatch(/withSessions\(options, handler\)/)
  })

  it('a bad option throws when the listener is created, not on a request', () => {
    expect(() => withSessions({ store: new MemoryStore(), keys: ['short'] }, () => {})).toThrow(/at least 32/)
  })

  it('the handler receives a typed session (generic on withSessions)', async () => {
    let seen: Session<{ counter?: number }> | undefined
    server = await listen(
      withSessions<{ counter?: number }>({ store: new MemoryStore(), keys: [generateKey()] }, (_req, res, session) => {
        seen = session
        session.insert('counter', 1)
        res.end()
      }),
    )
    await (await fetch(`${server.url}/`)).text()
    expect(seen?.status).toBe('changed')
  })
})
