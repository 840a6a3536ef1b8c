import { request as httpRequest } from 'node:http'
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import Database from 'better-sqlite3'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { sessions } from '../../src/adapters/express/index.js'
import { withSessions } from '../../src/adapters/node/index.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { SessionData } from '../../src/core/json.js'
import type { Session } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { SqliteStore } from '../../src/stores/sqlite/index.js'
import { listen, rawExchange } from '../support/node-http-harness.js'
import type { Loopback } from '../support/node-http-harness.js'
import { InstrumentedStore, type StoreMethod } from '../support/stores.js'
import { waitFor } from '../support/wait.js'
import { cookiePair, requestRaw } from './client.js'

// A session changed after the response head left (`res.write(…); session.purge(); res.end()`):
// the store is still written, and a cookie change that can no longer be sent is logged.

// The `express4` alias has no type declarations of its own; its surface here is Express 5's.
const express4 = ((await import('express4' as string)) as { default: typeof express }).default

/** What a test route does with the session and the raw response. */
type Late = (session: Session<SessionData>, res: ServerResponse) => void | Promise<void>

/** Routes every adapter serves: POST /login, GET /read (the session's entries) and /late (the test's). */
async function route(url: string, session: Session<SessionData>, res: ServerResponse, late: Late): Promise<void> {
  if (url === '/login') {
    session.insert('user', 'ferris')
    res.end('in')
  } else if (url === '/read') {
    res.end(JSON.stringify(await session.entries()))
  } else {
    await late(session, res)
  }
}

type Serve = (options: SessionOptions, late: Late, onThrow: (error: unknown) => void) => Promise<Loopback>

function expressServe(createApp: typeof express): Serve {
  return (options, late, onThrow) => {
    const app = createApp()
    app.use(sessions(options))
    app.use((req: Request, res: Response, next: NextFunction) => void route(req.url, req.session, res, late).catch(next))
    app.use((error: unknown, _req: Request, _res: Response, next: NextFunction) => {
      onThrow(error)
      next(error)
    })
    return listen(app as unknown as RequestListener)
  }
}

const adapters: [string, Serve][] = [
  [
    'node:http',
    (options, late, onThrow) =>
      listen(withSessions({ ...options, onHandlerError: onThrow }, (req, res, session) => route(req.url ?? '/', session, res, late))),
  ],
  ['Express 5', expressServe(express)],
  ['Express 4', expressServe(express4)],
]

const databases: Database.Database[] = []
const stores: [string, () => Promise<SessionStore>][] = [
  ['memory', () => Promise.resolve(new MemoryStore())],
  [
    'SQLite',
    async () => {
      const db = new Database(':memory:')
      databases.push(db)
      const store = new SqliteStore({ db })
      await store.migrate()
      return store
    },
  ],
]

afterEach(() => {
  for (const db of databases.splice(0)) db.close()
})

/** Waits until `check` holds (polling, with the suite's hang guard). */
const eventually = (check: () => boolean): Promise<void> => waitFor(check, 'the late commit')

/** Resolves when `res` closes (finished or cut off). */
function closed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => res.once('close', () => resolve()))
}

/** Requests `url`, takes the first chunk of the body and hangs up. */
function hangUpAfterFirstChunk(url: string, cookie: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { cookie } }, (res: IncomingMessage) => {
      res.once('data', (chunk: Buffer) => {
        req.destroy()
        resolve(chunk.toString())
      })
    })
    req.on('error', () => undefined)
    req.on('response', (res: IncomingMessage) => res.on('error', () => undefined))
    req.once('error', reject)
    req.end()
  })
}

const LATE_WARNING = /could not be sent.*head had already been sent.*before writing the body/s

describe.each(adapters)('%s: a session changed after the head left', (_adapter, serve) => {
  let server: Loopback | undefined
  let store: InstrumentedStore
  let warnings: string[]
  let thrown: unknown[]

  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  async function start(inner: SessionStore, late: Late, options: Partial<SessionOptions> = {}): Promise<void> {
    store = new InstrumentedStore(inner)
    warnings = []
    thrown = []
    const logger = {
      debug: () => {},
      error: () => {},
      warn: (message: string) => void warnings.push(message),
    }
    server = await serve({ store, keys: [generateKey()], logger, ...options }, late, (error) => void thrown.push(error))
  }

  async function login(): Promise<string> {
    return cookiePair((await requestRaw(`${server!.url}/login`, { method: 'POST' })).headers)
  }

  async function read(cookie: string): Promise<unknown> {
    return JSON.parse((await requestRaw(`${server!.url}/read`, { headers: { cookie } })).body.toString()) as unknown
  }

  /** Waits until the store has settled `count` calls of `method`. */
  function settled(method: StoreMethod, count = 1): Promise<void> {
    return eventually(() => store.events.filter((event) => event.call === method && !event.failed).length >= count)
  }

  describe.each(stores)('%s store', (_store, makeStore) => {
    it('res.write, purge, res.end: the record is deleted, and a warning says the cookie could not be cleared', async () => {
      await start(await makeStore(), (session, res) => {
        res.write('x')
        session.purge()
        res.end()
      })
      const cookie = await login()
      const received = await requestRaw(`${server!.url}/late`, { headers: { cookie } })
      expect(received.body.toString()).toBe('x')
      expect(received.headers['set-cookie']).toBeUndefined()
      await eventually(() => warnings.length > 0)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(LATE_WARNING)
      expect(await read(cookie)).toEqual({})
    })

    it('res.write, insert, res.end on an existing session: the value is stored, and no cookie change means no warning', async () => {
      await start(await makeStore(), (session, res) => {
        res.write('x')
        session.insert('k', 1)
        res.end()
      })
      const cookie = await login()
      const received = await requestRaw(`${server!.url}/late`, { headers: { cookie } })
      expect(received.body.toString()).toBe('x')
      await settled('apply')
      expect(await read(cookie)).toEqual({ user: 'ferris', k: 1 })
      expect(warnings).toEqual([])
    })

    it('res.write, insert, res.end on a new session: the record is stored, and a warning says its cookie could not be sent', async () => {
      await start(await makeStore(), (session, res) => {
        res.write('x')
        session.insert('k', 1)
        res.end()
      })
      const received = await requestRaw(`${server!.url}/late`)
      expect(received.headers['set-cookie']).toBeUndefined()
      await eventually(() => warnings.length > 0)
      expect(store.callOrder()).toEqual(['create'])
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(LATE_WARNING)
    })

    it('a change before the head and one after it both land in the record the cookie names', async () => {
      await start(await makeStore(), (session, res) => {
        session.insert('a', 1)
        res.write('x')
        session.insert('b', 2)
        res.end()
      })
      const received = await requestRaw(`${server!.url}/late`)
      const cookie = cookiePair(received.headers)
      await settled('apply')
      expect(store.callOrder()).toEqual(['create', 'apply'])
      expect(await read(cookie)).toEqual({ a: 1, b: 2 })
      expect(warnings).toEqual([])
    })

    it('a renewal before the head and an insert after it land in the renewed record; the old cookie is dead', async () => {
      await start(await makeStore(), (session, res) => {
        session.renew()
        res.write('x')
        session.insert('k', 1)
        res.end()
      })
      const before = await login()
      const received = await requestRaw(`${server!.url}/late`, { headers: { cookie: before } })
      const after = cookiePair(received.headers)
      expect(after).not.toBe(before)
      await settled('apply')
      expect(await read(after)).toEqual({ user: 'ferris', k: 1 })
      expect(await read(before)).toEqual({})
      expect(warnings).toEqual([])
    })

    it('a login before the head and a purge after it leave no session behind the cookie that was sent', async () => {
      await start(await makeStore(), (session, res) => {
        session.insert('user', 'ferris')
        res.write('x')
        session.purge()
        res.end()
      })
      const received = await requestRaw(`${server!.url}/late`)
      const cookie = cookiePair(received.headers)
      await eventually(() => warnings.length > 0)
      expect(warnings[0]).toMatch(LATE_WARNING)
      expect(await read(cookie)).toEqual({})
    })

    it('a client that hangs up mid-body still lets the purge land', async () => {
      let handlerDone!: Promise<void>
      await start(await makeStore(), (session, res) => {
        res.write('x')
        session.purge()
        // The reply is never finished: the client leaves first.
        handlerDone = closed(res)
        return handlerDone
      })
      const cookie = await login()
      expect(await hangUpAfterFirstChunk(`${server!.url}/late`, cookie)).toBe('x')
      await handlerDone
      await settled('delete')
      await eventually(() => warnings.length > 0)
      expect(warnings).toHaveLength(1)
      expect(await read(cookie)).toEqual({})
    })
  })

  it('with the cookie store, an insert after the head left is logged: the cookie that holds it cannot be sent', async () => {
    await start(new CookieStore(), (session, res) => {
      res.write('x')
      session.insert('k', 1)
      res.end()
    })
    const cookie = await login()
    const received = await requestRaw(`${server!.url}/late`, { headers: { cookie } })
    expect(received.headers['set-cookie']).toBeUndefined()
    await eventually(() => warnings.length > 0)
    expect(warnings[0]).toMatch(LATE_WARNING)
    expect(await read(cookie)).toEqual({ user: 'ferris' })
  })

  it('a change after the head of a 500 is not committed, like the rest of a failed response', async () => {
    await start(new MemoryStore(), (session, res) => {
      res.statusCode = 500
      res.write('x')
      session.insert('late', true)
      res.end()
    })
    const cookie = await login()
    await requestRaw(`${server!.url}/late`, { headers: { cookie } })
    expect(store.calls.apply).toBe(0)
    expect(await read(cookie)).toEqual({ user: 'ferris' })
    expect(warnings).toEqual([])
  })

  it('a purge after the head of a 500 still lands: a logout is never dropped', async () => {
    await start(new MemoryStore(), (session, res) => {
      res.statusCode = 500
      res.write('x')
      session.purge()
      res.end()
    })
    const cookie = await login()
    await requestRaw(`${server!.url}/late`, { headers: { cookie } })
    await settled('delete')
    expect(await read(cookie)).toEqual({})
    await eventually(() => warnings.length > 0)
    expect(warnings[0]).toMatch(LATE_WARNING)
  })
})

describe('node:http: a handler that throws after the head', () => {
  it('commits nothing more: a purge before the throw does not land', async () => {
    const store = new InstrumentedStore()
    let responseClosed!: Promise<void>
    const reported: unknown[] = []
    const server = await listen(
      withSessions({ store, keys: [generateKey()], logger: { error: () => {} }, onHandlerError: (error) => void reported.push(error) }, (req, res, session) => {
        if (req.url === '/login') {
          session.insert('user', 'ferris')
          res.end('in')
          return
        }
        if (req.url === '/read') return session.entries().then((entries) => void res.end(JSON.stringify(entries)))
        responseClosed = closed(res)
        // Thrown once 'x' is on the wire, so that the client sees a 200 cut short.
        return new Promise<void>((resolve) => res.write('x', () => resolve())).then(() => {
          session.purge()
          throw new Error('mid-body bug')
        })
      }),
    )
    try {
      const cookie = cookiePair((await requestRaw(`${server.url}/login`, { method: 'POST' })).headers)
      const bytes = await rawExchange(server.port, `GET /late HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`)
      expect(bytes.toString()).toMatch(/^HTTP\/1\.1 200/)
      await responseClosed
      expect(reported).toHaveLength(1)
      expect(store.calls.delete).toBe(0)
      const after = JSON.parse((await requestRaw(`${server.url}/read`, { headers: { cookie } })).body.toString()) as unknown
      expect(after).toEqual({ user: 'ferris' })
    } finally {
      await server.close()
    }
  })
})
