// A change of the session data's shape, deployed over real HTTP on every store: an older Express app
// (no schema, no version) and the newer one (a Valibot schema per key, version 2 and its migrate)
// serve the same store side by side, as in a rolling deploy. The user signed in on the older one
// stays signed in on the newer one; the version travels inside the data, so no store changed.
import { mkdtempSync, rmSync } from 'node:fs'
import type { RequestListener } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import express from 'express'
import type { Request as ExpressRequest } from 'express'
import * as v from 'valibot'
import { afterAll, describe, expect, it } from 'vitest'
import { getSession, sessions } from '../../src/adapters/express/index.js'
import type { SessionData } from '../../src/core/json.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import { SqliteStore } from '../../src/stores/sqlite/index.js'
import { listen, type Loopback } from '../support/node-http-harness.js'
import { findTestPostgres, openTestSchema, type TestSchema } from '../support/postgres.js'
import { deletePrefix, openClient, uniquePrefix, type OpenClient } from '../support/redis-clients.js'
import { redisAnswers } from '../support/redis-process.js'

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const stores: { name: string; make(): Promise<SessionStore> }[] = [
  { name: 'cookie', make: async () => new CookieStore() },
  { name: 'memory', make: async () => new MemoryStore() },
]
{
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-data-rules-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  stores.push({
    name: 'sqlite',
    make: async () => {
      const db = new Database(join(dir, 'sessions.db'))
      cleanups.push(async () => void db.close())
      const store = new SqliteStore({ db })
      await store.migrate()
      return store
    },
  })
}
if (await redisAnswers(6379)) {
  let client: OpenClient | undefined
  const prefix = uniquePrefix()
  cleanups.push(async () => {
    await deletePrefix([6379], prefix)
    await client?.close()
  })
  stores.push({
    name: 'redis',
    make: async () => {
      client ??= await openClient('node-redis', [6379])
      return new RedisStore({ client: client.client, prefix })
    },
  })
} else if (process.env.CI === 'true') {
  throw new Error('Redis at 127.0.0.1:6379 is missing; CI needs it')
} else {
  console.warn('\n!!!!! SKIPPING the data-rules test on Redis: Redis at 127.0.0.1:6379 is missing !!!!!\n')
}
const postgres = await findTestPostgres()
if (postgres !== null) {
  let run: TestSchema | undefined
  cleanups.push(async () => run?.drop())
  stores.push({
    name: 'postgres',
    make: async () => {
      run ??= await openTestSchema(postgres)
      const store = new PostgresStore({ pool: run.pool, schema: run.schema, table: run.freshTable() })
      await store.migrate()
      return store
    },
  })
}

/** The newer shape; the older app kept `userId`, `count` and a free-form `theme`. */
type Data = { user?: { id: string }; counter?: number; theme?: 'light' | 'dark' }

const newer: Pick<SessionOptions<Data>, 'schema' | 'version' | 'migrate'> = {
  schema: { user: v.object({ id: v.string() }), counter: v.number(), theme: v.picklist(['light', 'dark']) },
  version: 2,
  migrate: (old) => ({
    user: typeof old.userId === 'string' ? { id: old.userId } : undefined,
    counter: typeof old.count === 'number' ? old.count : undefined,
    theme: old.theme as Data['theme'],
  }),
}

/** The older app: signs in by storing what it is posted; shows the record's data as it is. */
function olderApp(options: SessionOptions<SessionData>): express.Express {
  const app = express()
  app.use(express.json())
  app.use(sessions<SessionData>(options))
  app.post('/login', (req: ExpressRequest, res) => {
    const session = getSession<SessionData>(req)
    for (const [key, value] of Object.entries(req.body as SessionData)) session.insert(key, value)
    session.renew()
    res.json('ok')
  })
  app.get('/raw', async (req, res) => void res.json(await getSession<SessionData>(req).entries()))
  return app
}

/** The newer app: reads and counts in the new shape, typed by Data and checked by the schema. */
function newerApp(options: SessionOptions<Data>): express.Express {
  const app = express()
  app.use(sessions<Data>(options))
  app.get('/', async (req, res) => {
    const session = getSession<Data>(req)
    res.json({ user: (await session.get('user')) ?? null, counter: (await session.get('counter')) ?? null, theme: (await session.get('theme')) ?? null })
  })
  app.post('/count', async (req, res) => {
    const session = getSession<Data>(req)
    await session.updateOr('counter', 1, (n) => n + 1)
    res.json(await session.get('counter'))
  })
  return app
}

/** A browser's cookie jar for one cookie: sends it, and keeps whatever a response sets. */
function jar(): { fetch(url: string, init?: RequestInit): Promise<Response> } {
  let cookie: string | undefined
  return {
    async fetch(url, init = {}) {
      const response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...(cookie === undefined ? {} : { cookie }) } })
      const set = response.headers.getSetCookie().find((line) => line.startsWith('id='))
      if (set !== undefined) cookie = set.split(';')[0]
      return response
    },
  }
}

describe('a change of the data shape, deployed over HTTP on every store (Express)', () => {
  for (const { name, make } of stores) {
    it(`${name}: the older app's user stays signed in on the newer one, migrated once, the refused value dropped`, async () => {
      const store = await make()
      const keys = [generateKey()]
      const servers: Loopback[] = []
      try {
        const older = await listen(olderApp({ store, keys, cookie: { secure: false } }) as unknown as RequestListener)
        servers.push(older)
        const current = await listen(newerApp({ store, keys, cookie: { secure: false }, ...newer }) as unknown as RequestListener)
        servers.push(current)
        const browser = jar()

        const login = await browser.fetch(`${older.url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userId: 'ada', count: 3, theme: 42 }),
        })
        expect(login.status).toBe(200)

        const home = await browser.fetch(`${current.url}/`)
        expect(await home.json()).toEqual({ user: { id: 'ada' }, counter: 3, theme: null })
        // Migrated at that commit: the record holds the new shape and its version, the refused theme gone.
        expect(await (await browser.fetch(`${older.url}/raw`)).json()).toEqual({ user: { id: 'ada' }, counter: 3, '~version': 2 })

        expect(await (await browser.fetch(`${current.url}/count`, { method: 'POST' })).json()).toBe(4)
        expect(await (await browser.fetch(`${current.url}/`)).json()).toEqual({ user: { id: 'ada' }, counter: 4, theme: null })
        expect(await (await browser.fetch(`${older.url}/raw`)).json()).toEqual({ user: { id: 'ada' }, counter: 4, '~version': 2 })
      } finally {
        for (const server of servers) await server.close()
      }
    })
  }
})
