import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import type { RequestListener } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import express from 'express'
import type { ErrorRequestHandler, Express } from 'express'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { getSession, sessions } from '../../src/adapters/express/index.js'
import type { SessionOptions } from '../../src/core/options.js'
import { generateKey } from '../../src/crypto/keys.js'
import { listen, sleep } from '../support/node-http-harness.js'
import type { Loopback } from '../support/node-http-harness.js'
import { cookiePair, requestRaw } from './client.js'
import { InstrumentedStore } from '../support/stores.js'

// The `express4` alias has no type declarations of its own; its surface here is Express 5's.
const express4 = ((await import('express4' as string)) as { default: typeof express }).default

const SECRET = 'connection refused at db-internal.example:6379 (secret detail)'
const fileBody = 'a line of a file served by res.sendFile\n'.repeat(2000)
let dir: string
let file: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloakroom-express-'))
  file = join(dir, 'page.txt')
  await writeFile(file, fileBody)
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Waits until `check` holds, polling; fails after `ms`. */
async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not reached in time')
    await sleep(5)
  }
}

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
])('express adapter under %s', (_name, createApp) => {
  let server: Loopback | undefined
  let store: InstrumentedStore

  afterEach(async () => {
    await server?.close()
    server = undefined
    vi.restoreAllMocks()
  })

  async function serve(routes: (app: Express) => void, options: Partial<SessionOptions> = {}, env?: string): Promise<Loopback> {
    store = new InstrumentedStore()
    // Express's default error handler logs each error (deferred, so it can land after the reply).
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const previous = process.env.NODE_ENV
    // Express reads NODE_ENV once, when the app is created, to pick its error page.
    if (env !== undefined) process.env.NODE_ENV = env
    let app: Express
    try {
      app = createApp()
    } finally {
      if (env !== undefined) process.env.NODE_ENV = previous
    }
    if (env !== undefined) expect(app.get('env')).toBe(env)
    app.use(sessions({ store, keys: [generateKey()], logger: { error: () => {} }, ...options }))
    app.get('/whoami', (req, res, next) => void req.session.get('user').then((user) => res.json({ user: user ?? null }), next))
    app.post('/login', (req, res) => {
      req.session.insert('user', 'ferris')
      req.session.renew()
      res.redirect('/')
    })
    routes(app)
    server = await listen(app as unknown as RequestListener)
    return server
  }

  /** Logs in and returns the session's `Cookie` header. */
  async function login(): Promise<string> {
    return cookiePair((await requestRaw(`${server!.url}/login`, { method: 'POST' })).headers)
  }

  it('res.end carries the session cookie', async () => {
    await serve((app) => app.get('/', (req, res) => (req.session.insert('n', 1), res.end('raw'))))
    const response = await fetch(`${server!.url}/`)
    expect(await response.text()).toBe('raw')
    expect(response.headers.getSetCookie()).toHaveLength(1)
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it('res.json carries the session cookie and the value reads back on the next request', async () => {
    await serve((app) => {
      app.get('/set', (req, res) => (req.session.insert('n', 41), res.json({ ok: true })))
      app.get('/get', async (req, res, next) => req.session.get('n').then((n) => res.json({ n }), next))
    })
    const first = await fetch(`${server!.url}/set`)
    expect(await first.json()).toEqual({ ok: true })
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!
    const second = await fetch(`${server!.url}/get`, { headers: { cookie } })
    expect(await second.json()).toEqual({ n: 41 })
    expect(second.headers.get('vary')).toMatch(/cookie/i)
  })

  it('res.send carries the session cookie', async () => {
    await serve((app) => app.get('/', (req, res) => (req.session.insert('n', 1), res.send('<p>sent</p>'))))
    const response = await fetch(`${server!.url}/`)
    expect(await response.text()).toBe('<p>sent</p>')
    expect(response.headers.get('content-type')).toMatch(/text\/html/)
    expect(response.headers.getSetCookie()).toHaveLength(1)
  })

  it('res.redirect right after a new login: the 302 carries the cookie and arrives only after the store created the record', async () => {
    await serve(() => {})
    store.delayMs = 60
    const sentAt = performance.now()
    const received = await requestRaw(`${server!.url}/login`, { method: 'POST' })
    expect(received.status).toBe(302)
    expect(received.headers.location).toBe('/')
    expect(cookiePair(received.headers)).toMatch(/^id=.+/)
    const created = store.events.find((event) => event.call === 'create')
    expect(created?.failed).toBe(false)
    expect(created!.settledAt).toBeLessThan(received.headAt)
    expect(received.headAt - sentAt).toBeGreaterThanOrEqual(55)
  })

  it('res.redirect right after a re-login: the 302 carries the renewed cookie and arrives only after the renew finished', async () => {
    await serve(() => {})
    const before = await login()
    store.delayMs = 60
    const received = await requestRaw(`${server!.url}/login`, { method: 'POST', headers: { cookie: before } })
    expect(received.status).toBe(302)
    const after = cookiePair(received.headers)
    expect(after).not.toBe(before)
    const renewed = store.events.find((event) => event.call === 'renew')
    expect(renewed?.failed).toBe(false)
    expect(renewed!.settledAt).toBeLessThan(received.headAt)
  })

  it('res.sendFile carries the session cookie and the whole file', async () => {
    await serve((app) => app.get('/file', (req, res, next) => (req.session.insert('seen', true), res.sendFile(file, (error) => error && next(error)))))
    const response = await fetch(`${server!.url}/file`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(fileBody)
    expect(response.headers.getSetCookie()).toHaveLength(1)
  })

  it('a piped 4 MiB stream carries the session cookie and arrives whole', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x')
    await serve((app) =>
      app.get('/stream', (req, res) => {
        req.session.insert('streamed', true)
        res.type('application/octet-stream')
        Readable.from((function* () {
          for (let i = 0; i < 64; i++) yield chunk
        })()).pipe(res)
      }),
    )
    const response = await fetch(`${server!.url}/stream`)
    expect(response.headers.getSetCookie()).toHaveLength(1)
    expect((await response.arrayBuffer()).byteLength).toBe(64 * chunk.length)
  })

  it("the handler's res.cookie() lines are kept next to the session cookie", async () => {
    await serve((app) =>
      app.get('/', (req, res) => {
        res.cookie('theme', 'dark')
        req.session.insert('n', 1)
        res.cookie('lang', 'en')
        res.send('ok')
      }),
    )
    const names = (await fetch(`${server!.url}/`)).headers.getSetCookie().map((line) => line.split('=')[0])
    expect(names.sort()).toEqual(['id', 'lang', 'theme'])
  })

  it('a handler that throws commits nothing and leaves no store call in flight', async () => {
    await serve((app) =>
      app.get('/boom', (req) => {
        req.session.insert('half', 'made')
        throw new Error('handler bug')
      }),
    )
    const response = await fetch(`${server!.url}/boom`)
    expect(response.status).toBe(500)
    expect(response.headers.getSetCookie()).toEqual([])
    await response.text()
    await sleep(20)
    expect(store.inFlight).toBe(0)
    expect(store.callOrder()).toEqual([])
  })

  it('a handler whose promise rejects after a write commits nothing', async () => {
    await serve((app) =>
      app.get('/boom', (req, res, next) => {
        const work = async (): Promise<void> => {
          req.session.insert('half', 'made')
          await sleep(5)
          throw new Error('async handler bug')
        }
        work().catch(next)
      }),
    )
    const response = await fetch(`${server!.url}/boom`)
    expect(response.status).toBe(500)
    expect(response.headers.getSetCookie()).toEqual([])
    await response.text()
    await sleep(20)
    expect(store.inFlight).toBe(0)
    expect(store.callOrder()).toEqual([])
  })

  it('a 404 gets no cookie and makes no store call', async () => {
    await serve(() => {})
    const response = await fetch(`${server!.url}/missing`, { headers: { cookie: 'id=whatever' } })
    expect(response.status).toBe(404)
    expect(response.headers.getSetCookie()).toEqual([])
    expect(store.callOrder()).toEqual([])
  })

  it('a middleware that writes and falls through to the 404 still commits (status below 500)', async () => {
    await serve((app) => app.use((req, _res, next) => (req.session.insert('visited', true), next())))
    const response = await fetch(`${server!.url}/missing`)
    expect(response.status).toBe(404)
    expect(response.headers.getSetCookie()).toHaveLength(1)
    expect(store.callOrder()).toEqual(['create'])
  })

  it('a client that disconnects mid-request crashes nothing, and the purge still reaches the store', async () => {
    let handlerStarted: () => void = () => {}
    const started = new Promise<void>((resolve) => (handlerStarted = resolve))
    let handlerDone: () => void = () => {}
    const finished = new Promise<void>((resolve) => (handlerDone = resolve))
    await serve((app) =>
      app.post('/logout', async (req, res) => {
        req.session.purge()
        // Answer only once the client has gone.
        const gone = new Promise((resolve) => res.once('close', resolve))
        handlerStarted()
        await gone
        res.send('bye')
        handlerDone()
      }),
    )
    const cookie = await login()
    const unhandled: unknown[] = []
    const record = (error: unknown): void => void unhandled.push(error)
    process.on('unhandledRejection', record)
    try {
      const req = httpRequest(`${server!.url}/logout`, { method: 'POST', headers: { cookie } })
      req.on('error', () => {})
      req.end()
      await started
      req.destroy()
      await finished
      await eventually(() => store.callOrder().includes('delete'))
      await sleep(20)
      expect(unhandled).toEqual([])
      expect(store.inFlight).toBe(0)
    } finally {
      process.off('unhandledRejection', record)
    }
    // The record is gone: the old cookie opens no session.
    expect(await (await fetch(`${server!.url}/whoami`, { headers: { cookie } })).json()).toEqual({ user: null })
  })

  it('onError sees the URL the client asked for, mount path included, from inside a mounted router', async () => {
    let seenUrl = ''
    await serve(
      (app) => {
        const router = createApp.Router()
        // The handler catches the failure and answers inside the router, where req.url is '/me'.
        router.get('/me', async (req, res) => res.json({ user: await req.session.get('user').catch(() => 'unknown') }))
        app.use('/api', router)
      },
      {
        onError: (_error, request) => {
          seenUrl = request?.url ?? ''
          return new Response(null, { status: 503 })
        },
      },
    )
    const cookie = await login()
    store.brokenWith = SECRET
    const received = await requestRaw(`${server!.url}/api/me`, { headers: { cookie } })
    expect(received.status).toBe(503)
    expect(new URL(seenUrl).pathname).toBe('/api/me')
  })

  it('getSession(req) returns the same session as req.session', async () => {
    await serve((app) => app.get('/', (req, res) => res.send(String(getSession(req) === req.session))))
    expect(await (await fetch(`${server!.url}/`)).text()).toBe('true')
  })

  it('getSession(req) without the middleware throws a message that names the fix', async () => {
    const app = createApp()
    app.get('/', (req, res) => {
      try {
        getSession(req)
        res.send('no throw')
      } catch (error) {
        res.send((error as Error).message)
      }
    })
    server = await listen(app as unknown as RequestListener)
    expect(await (await fetch(`${server.url}/`)).text()).toMatch(/app\.use\(sessions\(options\)\)/)
  })

  describe.each(['production', 'development'])('the session store failing, rethrown to the default error handler (%s)', (env) => {
    it('is an empty-bodied 500 with no-store, and no error text reaches the client', async () => {
      await serve(
        (app) =>
          app.get('/me', async (req, res, next) => {
            try {
              res.json({ user: await req.session.get('user') })
            } catch (error) {
              next(error)
            }
          }),
        {},
        env,
      )
      const cookie = await login()
      store.brokenWith = SECRET
      const received = await requestRaw(`${server!.url}/me`, { headers: { cookie } })
      expect(received.status).toBe(500)
      expect(received.body.toString()).toBe('')
      expect(received.headers['cache-control']).toBe('no-store')
      expect(received.headers['set-cookie']).toBeUndefined()
      // finalhandler's own error-page headers went with its body.
      expect(received.headers['content-security-policy']).toBeUndefined()
      expect(JSON.stringify(received.headers)).not.toContain('secret detail')
    })
  })

  it("the session store failing is answered opaquely even when the app's own error handler renders err.message", async () => {
    await serve((app) => {
      app.get('/me', async (req, res, next) => req.session.get('user').then((user) => res.json({ user }), next))
      const render: ErrorRequestHandler = (error: Error, _req, res, _next) => void res.status(503).send(`failed: ${error.message}`)
      app.use(render)
    })
    const cookie = await login()
    store.brokenWith = SECRET
    const received = await requestRaw(`${server!.url}/me`, { headers: { cookie } })
    expect(received.status).toBe(500)
    expect(received.body.toString()).toBe('')
    expect(received.headers['cache-control']).toBe('no-store')
  })

  it('onError renders the store failure, and receives the request as a web Request', async () => {
    let seenUrl = ''
    await serve((app) => app.get('/me', async (req, res, next) => req.session.get('user').then((user) => res.json({ user }), next)), {
      onError: (_error, request) => {
        seenUrl = request?.url ?? ''
        return new Response('try again later', { status: 503, headers: { 'retry-after': '5' } })
      },
    })
    const cookie = await login()
    store.brokenWith = SECRET
    const received = await requestRaw(`${server!.url}/me?x=1`, { headers: { cookie } })
    expect(received.status).toBe(503)
    expect(received.body.toString()).toBe('try again later')
    expect(received.headers['retry-after']).toBe('5')
    expect(new URL(seenUrl).pathname + new URL(seenUrl).search).toBe('/me?x=1')
  })
})
