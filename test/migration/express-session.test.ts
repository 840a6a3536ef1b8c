// An Express app on express-session + connect-redis logs users in; it is stopped and the same app
// restarts on cloakroom with the express-session reader, against the same Redis; each user's
// cookie jar is replayed. Every user must still be logged in, with their data, exactly once.
import type { RequestListener } from 'node:http'
import { createHmac } from 'node:crypto'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import session from 'express-session'
import { parseSetCookie } from 'cookie'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessions } from '../../src/adapters/express/index.js'
import { createSessionManager } from '../../src/create.js'
import type { Json } from '../../src/core/json.js'
import { generateKey } from '../../src/crypto/keys.js'
import { expressSession } from '../../src/migrations/express-session/index.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import { listen, type Loopback } from '../support/node-http-harness.js'
import { deletePrefix, uniquePrefix } from '../support/redis-clients.js'
import { redisAnswers } from '../support/redis-process.js'
import { waitFor } from '../support/wait.js'

/** express-session's `req.session` (cloakroom's Express adapter types `req.session` as its own). */
type OldSession = session.Session & { user?: string; cart?: string[]; prefs?: { theme: string; sizes: number[] } }
const oldSession = (req: Request): OldSession => req.session as unknown as OldSession

const CI = process.env.CI === 'true'
const redisUp = await redisAnswers(6379)
// express-session's secrets over the app's life: the old app was started under PREVIOUS, then
// rotated to [CURRENT, PREVIOUS]; the reader is given what the app was last configured with.
const PREVIOUS = 'the express-session secret before the rotation'
const CURRENT = 'the express-session secret after the rotation'
const KEY = generateKey()

type Jar = Map<string, string>
interface Reply {
  status: number
  body: string
  setCookies: string[]
}

function jarHeader(jar: Jar): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
}

/** Sends a request with `jar`'s cookies and files the cookies the response sets or clears into it. */
async function send(base: string, path: string, jar: Jar, init: { method?: string; json?: Json } = {}): Promise<Reply> {
  const headers: Record<string, string> = { cookie: jarHeader(jar) }
  if (init.json !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(base + path, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) })
  const setCookies = response.headers.getSetCookie()
  for (const line of setCookies) {
    const pair = line.split(';')[0] as string
    const eq = pair.indexOf('=')
    const name = pair.slice(0, eq)
    const value = pair.slice(eq + 1)
    if (value === '' || /max-age=0/i.test(line)) jar.delete(name)
    else jar.set(name, value)
  }
  return { status: response.status, body: await response.text(), setCookies }
}

/** The session id inside an express-session cookie value (`s%3A<sid>.<signature>`). */
function sidOf(value: string): string {
  const text = decodeURIComponent(value)
  return text.slice(2, text.lastIndexOf('.'))
}

/** What a user was logged in with on the old app. */
interface OldUser {
  name: string
  cart?: string[]
  prefs?: { theme: string; sizes: number[] }
  /** express-session's `cookie.maxAge` for this login, in ms. */
  maxAge?: number
  /** Logged in before the secret rotation. */
  beforeRotation?: boolean
}

describe('moving an Express app from express-session + connect-redis to cloakroom', () => {
  if (!redisUp) {
    if (CI) {
      it('Redis on 127.0.0.1:6379 is available (required when CI=true)', () => {
        throw new Error('Redis on 127.0.0.1:6379 is missing')
      })
    } else {
      console.warn('\n!!!!!!!!\n!!! SKIPPING the express-session migration tests: no Redis on 127.0.0.1:6379\n!!!!!!!!\n')
    }
    return
  }

  const oldPrefix = `${uniquePrefix()}sess:`
  const newPrefix = uniquePrefix()
  let client: ReturnType<typeof createClient>
  const servers: Loopback[] = []
  /** The cookie jar of each user, after logging in on the old app. */
  const jars = new Map<string, Jar>()
  const users: OldUser[] = [
    { name: 'alice', cart: ['tea', 'scones'], beforeRotation: true },
    { name: 'bob' },
    { name: 'carol', prefs: { theme: 'dark', sizes: [38, 40] } },
    { name: 'dave', maxAge: 1 }, // expires right after logging in; connect-redis keeps the record a day
    { name: 'erin', cart: ['jam'] },
    { name: 'frank' },
    ...Array.from({ length: 8 }, (_, i): OldUser => ({ name: `user${i}`, cart: [`item${i}`] })),
  ]
  const live = users.filter((user) => user.maxAge === undefined)

  /** The express-session app the users logged in on. */
  function oldApp(secret: string | string[]): express.Express {
    const app = express()
    app.use(express.json())
    app.use(
      session({
        secret,
        store: new ConnectRedisStore({ client, prefix: oldPrefix, ttl: () => 86_400 }),
        resave: false,
        saveUninitialized: false,
      }),
    )
    app.post('/login', (req, res, next) => {
      const body = req.body as OldUser
      oldSession(req).regenerate((error: unknown) => {
        if (error) return next(error)
        const old = oldSession(req)
        old.user = body.name
        if (body.cart) old.cart = body.cart
        if (body.prefs) old.prefs = body.prefs
        if (body.maxAge !== undefined) old.cookie.maxAge = body.maxAge
        res.send('ok')
      })
    })
    app.get('/me', (req, res) => res.json({ userId: oldSession(req).user ?? null }))
    return app
  }

  /** `migrated` events seen, over every instance. */
  let migrations = 0
  /** Requests to /me wait here after reading their session, until `release` opens the gate. */
  let gate: { arrived: number; open: Promise<void>; release: () => void } | undefined
  function newGate(): NonNullable<typeof gate> {
    let release = () => {}
    const open = new Promise<void>((resolve) => (release = resolve))
    return { arrived: 0, open, release }
  }

  /** The same app on cloakroom, with the reader, as the guide configures it. */
  function newApp(): express.Express {
    const app = express()
    app.use(
      sessions({
        store: new RedisStore({ client, prefix: newPrefix }),
        keys: [KEY],
        userKey: 'userId',
        logger: { warn: () => {}, error: () => {} },
        events: { migrated: () => void migrations++ },
        migrateFrom: expressSession({
          secret: [CURRENT, PREVIOUS],
          store: new ConnectRedisStore({ client, prefix: oldPrefix }),
          // The app now calls the user `userId`; express-session's `cookie` is dropped.
          mapData: ({ cookie: _cookie, user, ...rest }) => ({ ...rest, userId: user ?? null }),
        }),
      }),
    )
    app.get('/me', async (req: Request, res: Response, next: NextFunction) => {
      try {
        const data = await req.session.entries()
        if (gate !== undefined && req.query['gate'] === '1') {
          gate.arrived++
          await gate.open
        }
        res.json(data)
      } catch (error) {
        next(error)
      }
    })
    return app
  }

  async function serve(app: express.Express): Promise<string> {
    const server = await listen(app as unknown as RequestListener)
    servers.push(server)
    return server.url
  }

  /** How many cloakroom sessions hold `userId`, counted by the store (not by what the responses said). */
  const lister = () => createSessionManager({ store: new RedisStore({ client, prefix: newPrefix }), keys: [KEY], userKey: 'userId' })
  const oldRecordExists = async (jar: Jar): Promise<boolean> => (await client.exists(oldPrefix + sidOf(jar.get('connect.sid') as string))) === 1

  beforeAll(async () => {
    client = await createClient({ url: 'redis://127.0.0.1:6379' }).on('error', () => {}).connect()
    // Before the rotation, then after it: both kinds of cookie are in the wild.
    const before = await serve(oldApp(PREVIOUS))
    const after = await serve(oldApp([CURRENT, PREVIOUS]))
    for (const user of users) {
      const jar: Jar = new Map()
      const reply = await send(user.beforeRotation ? before : after, '/login', jar, { method: 'POST', json: user as unknown as Json })
      expect(reply.status).toBe(200)
      expect(jar.get('connect.sid')).toMatch(/^s%3A/)
      jars.set(user.name, jar)
    }
    // The old app serves its users before the switch (the cookies work there).
    const me = await send(after, '/me', new Map(jars.get('alice')))
    expect(JSON.parse(me.body)).toEqual({ userId: 'alice' })
    // The old app is stopped; its records stay in Redis.
    for (const server of servers.splice(0)) await server.close()
  })

  afterAll(async () => {
    for (const server of servers) await server.close()
    if (client !== undefined) {
      await client.close()
      await deletePrefix([6379], [oldPrefix, newPrefix])
    }
  })

  it('keeps every live user logged in with their data, exactly once, and drops the expired one', async () => {
    const base = await serve(newApp())
    const before = migrations
    for (const user of users) {
      const jar = jars.get(user.name) as Jar
      const oldCookie = jar.get('connect.sid') as string
      const live = user.maxAge === undefined
      expect(await oldRecordExists(jar)).toBe(true)
      if (!live) {
        // Still in Redis (connect-redis was told to keep records a day), but past its cookie.expires.
        const stored = JSON.parse((await client.get(oldPrefix + sidOf(oldCookie))) as string) as { cookie: { expires: string } }
        await waitFor(() => Date.now() > Date.parse(stored.cookie.expires), "dave's old session expiring")
      }

      const first = await send(base, '/me', jar)
      expect(first.status).toBe(200)
      const expected: Record<string, Json> = { userId: user.name }
      if (user.cart) expected['cart'] = user.cart
      if (user.prefs) expected['prefs'] = user.prefs
      expect(JSON.parse(first.body)).toEqual(live ? expected : {})
      // The old cookie is cleared and its record deleted, expired or not.
      const cleared = first.setCookies.filter((line) => line.startsWith('connect.sid=')).map((line) => parseSetCookie(line))
      expect(cleared).toEqual([{ name: 'connect.sid', value: '', maxAge: 0, path: '/', expires: new Date(0), httpOnly: true }])
      expect(first.setCookies.join('\n')).not.toContain(sidOf(oldCookie))
      expect(jar.has('connect.sid')).toBe(false)
      expect(await client.exists(oldPrefix + sidOf(oldCookie))).toBe(0)
      // A live user gets a cloakroom cookie (sealed: it does not hold the old id); the expired one none.
      expect(jar.has('id')).toBe(live)
      if (live) expect(decodeURIComponent(jar.get('id') as string)).not.toContain(sidOf(oldCookie))

      // The new cookie alone keeps them logged in.
      const again = await send(base, '/me', jar)
      expect(JSON.parse(again.body)).toEqual(live ? expected : {})

      // The old cookie replayed (a browser that missed the clearing, or a copy of it) gets nothing.
      const replayed = await send(base, '/me', new Map([['connect.sid', oldCookie]]))
      expect(replayed.status).toBe(200)
      expect(JSON.parse(replayed.body)).toEqual({})
      expect(replayed.setCookies.some((line) => line.startsWith('id='))).toBe(false)
    }
    const manager = lister()
    for (const user of live) expect((await manager.listUserSessions(user.name)).length).toBe(1)
    expect(await manager.listUserSessions('dave')).toEqual([])
    expect(migrations - before).toBe(live.length)
  })

  it('migrates nothing for a forged cookie (leaving the victim’s record alone) or a corrupted record', async () => {
    const base = await serve(newApp())
    // A fresh victim, logged in on the old app (its record must survive the forgeries).
    const oldBase = await serve(oldApp([CURRENT, PREVIOUS]))
    const victim: Jar = new Map()
    await send(oldBase, '/login', victim, { method: 'POST', json: { name: 'victim' } })
    const sid = sidOf(victim.get('connect.sid') as string)
    const signed = (secret: string) => encodeURIComponent(`s:${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`)
    const forgeries = [
      signed('a secret the attacker guessed'),
      encodeURIComponent(`s:${sid}`), // no signature
      sid, // unsigned
      `s%3A${sid}.${'A'.repeat(43)}`,
      `s%3A${sid}.%E0%A4%A`, // malformed percent-encoding
      `s%3A${'x'.repeat(5000)}.${'A'.repeat(43)}`, // oversized
    ]
    for (const forged of forgeries) {
      const reply = await send(base, '/me', new Map([['connect.sid', forged]]))
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.body)).toEqual({})
      expect(reply.setCookies.some((line) => line.startsWith('id='))).toBe(false)
      expect(await client.exists(oldPrefix + sid)).toBe(1)
    }
    // A record that is not JSON (corrupted, or written by something else): no session, no 500, and it is deleted.
    const corrupt = 'corrupted-record-id'
    await client.set(oldPrefix + corrupt, '{"user": "victim", "cart": [')
    const corruptReply = await send(base, '/me', new Map([['connect.sid', encodeURIComponent(`s:${corrupt}.${createHmac('sha256', CURRENT).update(corrupt).digest('base64').replace(/=+$/, '')}`)]]))
    expect(corruptReply.status).toBe(200)
    expect(JSON.parse(corruptReply.body)).toEqual({})
    expect(corruptReply.setCookies.some((line) => line.startsWith('connect.sid=;'))).toBe(true)
    expect(await client.exists(oldPrefix + corrupt)).toBe(0)
    // The genuine cookie still migrates.
    const reply = await send(base, '/me', victim)
    expect(JSON.parse(reply.body)).toEqual({ userId: 'victim' })
    expect((await lister().listUserSessions('victim')).length).toBe(1)
  })

  it('clears the old cookie and deletes its record when the request already has a cloakroom session', async () => {
    const base = await serve(newApp())
    const oldBase = await serve(oldApp([CURRENT, PREVIOUS]))
    const jar: Jar = new Map()
    await send(oldBase, '/login', jar, { method: 'POST', json: { name: 'grace', cart: ['old'] } })
    const oldCookie = jar.get('connect.sid') as string
    // Migrated once, then the old cookie comes back next to the new one (logged in again on the old app).
    await send(base, '/me', jar)
    expect(jar.has('id')).toBe(true)
    await send(oldBase, '/login', jar, { method: 'POST', json: { name: 'grace', cart: ['newer, but old'] } })
    const second = jar.get('connect.sid') as string
    expect(second).not.toBe(oldCookie)
    const reply = await send(base, '/me', jar)
    // The cloakroom session wins; the old one is discarded, not merged.
    expect(JSON.parse(reply.body)).toEqual({ userId: 'grace', cart: ['old'] })
    expect(jar.has('connect.sid')).toBe(false)
    expect(await client.exists(oldPrefix + sidOf(second))).toBe(0)
    expect((await lister().listUserSessions('grace')).length).toBe(1)
  })

  it('gives one migrated session to two concurrent requests with the same old cookie, on one instance or two', async () => {
    const one = await serve(newApp())
    const two = await serve(newApp()) // another process in production: its reader remembers nothing of the first's
    const oldBase = await serve(oldApp([CURRENT, PREVIOUS]))
    for (const [name, bases] of [
      ['henry', [one, one]],
      ['ivy', [one, two]],
    ] as const) {
      const jar: Jar = new Map()
      await send(oldBase, '/login', jar, { method: 'POST', json: { name, cart: ['racing'] } })
      gate = newGate()
      const current = gate
      const before = migrations
      const pair = bases.map((base) => send(base, '/me?gate=1', new Map(jar)))
      // Both have read the old session before either commits: the race the claim must settle.
      await waitFor(() => current.arrived === 2, 'both requests reading the old session')
      current.release()
      const replies = await Promise.all(pair)
      gate = undefined
      const withCookie = replies.filter((reply) => reply.setCookies.some((line) => line.startsWith('id=')))
      expect(withCookie.length).toBe(1)
      for (const reply of replies) {
        expect(reply.status).toBe(200)
        expect(reply.setCookies.some((line) => line.startsWith('connect.sid=;'))).toBe(true)
      }
      expect((await lister().listUserSessions(name)).length).toBe(1)
      expect(migrations - before).toBe(1)
      // The winner's cookie holds the user.
      const winner = new Map<string, string>()
      const line = withCookie[0]?.setCookies.find((l) => l.startsWith('id=')) as string
      winner.set('id', line.split(';')[0]!.slice(3))
      expect(JSON.parse((await send(one, '/me', winner)).body)).toEqual({ userId: name, cart: ['racing'] })
    }
  })
})
