import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Hono } from 'hono'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sessions, type SessionEnv } from '../../src/adapters/hono/index.js'
import type { SessionOptions } from '../../src/core/options.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import { overHttp } from '../support/harness.js'
import { uniquePrefix } from '../support/redis-clients.js'
import { redisAnswers } from '../support/redis-process.js'
import { waitFor } from '../support/wait.js'

const CI = process.env.CI === 'true'
const redisUp = await redisAnswers(6379)

interface Vectors {
  keys: { mode: 'raw' | 'derive'; secret: string; signing: string; encryption: string }[]
}
// Keys from test/actix/vectors/make-vectors.py; the cookies below are made with plain node:crypto,
// not with cloakroom's code, following the cookie crate's rules.
const vectors = JSON.parse(readFileSync(new URL('./vectors/vectors.json', import.meta.url), 'utf8')) as Vectors
const KEY = vectors.keys[1]!
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'))
const ENCRYPTION = bytes(KEY.encryption)
const DAY = 86_400
const CLOAKROOM_KEY = 'cloakroom-own-key-0123456789abcdefghijklmnop'

type Data = { counter?: number; user?: string }
type RunningApp = Awaited<ReturnType<typeof overHttp>>

/** A session key as actix-session mints one: 64 characters from [A-Za-z0-9]. */
function actixKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  return Array.from({ length: 64 }, () => alphabet[randomInt(62)]).join('')
}

/** The cookie actix-session sets for a session key: AES-256-GCM with the name as AAD, base64, percent-encoded. */
function actixCookie(sessionKey: string, name = 'id'): string {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', ENCRYPTION, nonce)
  cipher.setAAD(Buffer.from(name))
  const sealed = Buffer.concat([nonce, cipher.update(sessionKey, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return sealed.toString('base64').replaceAll('/', '%2F').replaceAll('=', '%3D')
}

/** The session key inside an actix-session cookie, opened as actix-session would. */
function openCookie(wire: string, name = 'id'): string {
  const box = Buffer.from(decodeURIComponent(wire), 'base64')
  const decipher = createDecipheriv('aes-256-gcm', ENCRYPTION, box.subarray(0, 12))
  decipher.setAAD(Buffer.from(name))
  decipher.setAuthTag(box.subarray(box.length - 16))
  return Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]).toString('utf8')
}

function cookieValue(response: Response, name = 'id'): string | undefined {
  const line = response.headers.getSetCookie().find((l) => l.startsWith(`${name}=`))
  return line === undefined ? undefined : line.slice(name.length + 1, line.indexOf(';'))
}

function app(options: SessionOptions<Data>): Hono<SessionEnv<Data>> {
  const hono = new Hono<SessionEnv<Data>>()
  hono.use(sessions<Data>(options))
  hono.get('/', async (c) => {
    const session = c.get('session')
    return c.json({ counter: (await session.get('counter')) ?? 0, user: (await session.get('user')) ?? null })
  })
  hono.post('/count', async (c) => {
    const session = c.get('session')
    const counter = ((await session.get('counter')) ?? 0) + 1
    session.insert('counter', counter)
    return c.json({ counter, user: (await session.get('user')) ?? null })
  })
  hono.post('/login', async (c) => {
    const session = c.get('session')
    session.insert('user', 'alice')
    session.renew()
    return c.json({ ok: true })
  })
  hono.post('/logout', async (c) => {
    c.get('session').purge()
    return c.json({ ok: true })
  })
  hono.get('/static', (c) => c.text('static'))
  return hono
}

describe('actixSession with RedisStore over HTTP (Hono), real Redis at 127.0.0.1:6379', () => {
  if (!redisUp) {
    if (CI) it('Redis at 127.0.0.1:6379 is available (required when CI=true)', () => expect.fail('Redis at 127.0.0.1:6379 is missing'))
    else console.warn('\n!!!!!!!!\n!!! SKIPPING actix-session Redis tests: Redis at 127.0.0.1:6379 is missing\n!!!!!!!!\n')
    return
  }

  /** The app's connection; the test's own reads and writes go through `raw`, which MONITOR's log leaves out. */
  let redis: Redis
  let raw: Redis
  let monitor: Redis
  let prefix: string
  let ownPrefix: string
  let running: RunningApp | undefined
  const seen: string[][] = []

  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379 })
    raw = new Redis({ host: '127.0.0.1', port: 6379 })
    await raw.ping()
    const own = `:${raw.stream.localPort}`
    monitor = await new Redis({ host: '127.0.0.1', port: 6379 }).monitor()
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.endsWith(own)) seen.push(args)
    })
  })
  afterAll(async () => {
    await running?.close()
    monitor.disconnect()
    raw.disconnect()
    redis.disconnect()
  })
  beforeEach(async () => {
    await running?.close()
    running = undefined
    prefix = uniquePrefix()
    ownPrefix = uniquePrefix()
  })

  async function serve(extra: Partial<SessionOptions<Data>> = {}): Promise<RunningApp> {
    const store = new RedisStore({ client: redis, prefix: ownPrefix })
    running = await overHttp(app({ store, keys: [bytes(KEY.secret)], ...extra, actixSession: { key: 'derive', prefix } }).fetch)
    return running
  }

  /** The commands Redis ran on keys under `of`, once `until` holds (MONITOR reports asynchronously). */
  async function commandsOn(of: string, until: (commands: string[][]) => boolean): Promise<string[][]> {
    const mine = () => seen.filter((args) => args[1]?.startsWith(of)).map((args) => [args[0]!.toUpperCase(), ...args.slice(1)])
    await waitFor(() => until(mine()), `Redis to report the commands on ${of}`)
    return mine()
  }

  async function keysUnder(of: string): Promise<string[]> {
    return (await raw.keys(`${of}*`)).sort()
  }

  it('reads and updates a record written with actix-session\'s commands; the result is what actix-session reads', async () => {
    const { fetch } = await serve()
    const key = actixKey()
    // What actix-session's RedisSessionStore::save sends.
    expect(await raw.call('SET', prefix + key, '{"counter":"1","user":"\\"ferris\\""}', 'NX', 'EX', String(DAY))).toBe('OK')
    const response = await fetch(new Request('http://app.test/count', { method: 'POST', headers: { cookie: `id=${actixCookie(key)}` } }))
    expect(await response.json()).toEqual({ counter: 2, user: 'ferris' })
    // Same key, double-encoded JSON, TTL set: what actix-session's load reads.
    expect(await keysUnder(prefix)).toEqual([prefix + key])
    expect(JSON.parse((await raw.get(prefix + key))!)).toEqual({ counter: '2', user: '"ferris"' })
    const ttl = await raw.ttl(prefix + key)
    expect(ttl).toBeGreaterThan(DAY - 60)
    expect(ttl).toBeLessThanOrEqual(DAY)
    expect(await keysUnder(ownPrefix)).toEqual([])
    const commands = await commandsOn(prefix, (c) => c.some(([name]) => name === 'SET'))
    expect(commands).toEqual([
      ['GET', prefix + key],
      ['GET', prefix + key],
      // MONITOR quotes the value it logs; the value itself is checked with GET above.
      ['SET', prefix + key, expect.stringContaining('"counter":"2"'), 'XX', 'EX', String(DAY)],
    ])
  })

  it('creates sessions with SET NX EX under a 64-character key that the cookie carries', async () => {
    const { fetch } = await serve()
    const response = await fetch(new Request('http://app.test/count', { method: 'POST' }))
    expect(await response.json()).toEqual({ counter: 1, user: null })
    const key = openCookie(cookieValue(response)!)
    expect(key).toMatch(/^[A-Za-z0-9]{64}$/)
    expect(await raw.get(prefix + key)).toBe('{"counter":"1"}')
    expect(await raw.ttl(prefix + key)).toBeGreaterThan(DAY - 60)
    const commands = await commandsOn(prefix, (c) => c.length >= 1)
    expect(commands).toEqual([['SET', prefix + key, '{"counter":"1"}', 'NX', 'EX', String(DAY)]])
  })

  it('renew moves the state to a new key (DEL, then SET NX EX); purge deletes it and clears the cookie', async () => {
    const { fetch } = await serve()
    const key = actixKey()
    await raw.call('SET', prefix + key, '{"counter":"5"}', 'NX', 'EX', String(DAY))
    const login = await fetch(new Request('http://app.test/login', { method: 'POST', headers: { cookie: `id=${actixCookie(key)}` } }))
    const renewed = openCookie(cookieValue(login)!)
    expect(renewed).not.toBe(key)
    expect(await raw.exists(prefix + key)).toBe(0)
    expect(JSON.parse((await raw.get(prefix + renewed))!)).toEqual({ counter: '5', user: '"alice"' })
    const logout = await fetch(new Request('http://app.test/logout', { method: 'POST', headers: { cookie: `id=${cookieValue(login)!}` } }))
    expect(logout.headers.getSetCookie()[0]).toMatch(/^id=; .*Max-Age=0/)
    expect(await keysUnder(prefix)).toEqual([])
  })

  it('an expired record starts a fresh session; an unreadable one is an empty session under the same key', async () => {
    const { fetch } = await serve()
    const gone = await fetch(new Request('http://app.test/count', { method: 'POST', headers: { cookie: `id=${actixCookie(actixKey())}` } }))
    expect(await gone.json()).toEqual({ counter: 1, user: null })
    const key = actixKey()
    await raw.call('SET', prefix + key, 'not json', 'EX', '100')
    const unreadable = await fetch(new Request('http://app.test/count', { method: 'POST', headers: { cookie: `id=${actixCookie(key)}` } }))
    expect(await unreadable.json()).toEqual({ counter: 1, user: null })
    expect(await raw.get(prefix + key)).toBe('{"counter":"1"}')
  })

  it("extendOn: 'every-request' refreshes the TTL with EXPIRE, as actix-session's OnEveryRequest", async () => {
    const { fetch } = await serve({ lifecycle: { type: 'browser', stateTtl: 3600, extendOn: 'every-request' } })
    const key = actixKey()
    await raw.call('SET', prefix + key, '{"counter":"1"}', 'NX', 'EX', '100')
    const response = await fetch(new Request('http://app.test/', { headers: { cookie: `id=${actixCookie(key)}` } }))
    expect(await response.json()).toEqual({ counter: 1, user: null })
    expect(await raw.ttl(prefix + key)).toBeGreaterThan(100)
    const commands = await commandsOn(prefix, (c) => c.some(([name]) => name === 'EXPIRE'))
    expect(commands.at(-1)).toEqual(['EXPIRE', prefix + key, '3600'])
  })

  it('forged and malformed cookies are no session, never a 500', async () => {
    const { fetch } = await serve()
    for (const value of ['AAAA', '%FF', actixCookie(actixKey()).replace('%2F', '_'), 'x'.repeat(5000), `"${actixCookie(actixKey())}`]) {
      const response = await fetch(new Request('http://app.test/', { headers: { cookie: `id=${value}` } }))
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ counter: 0, user: null })
    }
  })

  it("with write: false, an actix-session record moves to cloakroom's format on the next request, without a logout", async () => {
    const store = new RedisStore({ client: redis, prefix: ownPrefix })
    running = await overHttp(app({ store, keys: [CLOAKROOM_KEY, bytes(KEY.secret)], actixSession: { key: 'derive', write: false, prefix } }).fetch)
    const key = actixKey()
    await raw.call('SET', prefix + key, '{"counter":"7","user":"\\"ferris\\""}', 'NX', 'EX', String(DAY))
    const moved = await running.fetch(new Request('http://app.test/static', { headers: { cookie: `id=${actixCookie(key)}` } }))
    const wire = cookieValue(moved)!
    expect(wire.startsWith('e1.')).toBe(true)
    expect(await raw.exists(prefix + key)).toBe(0)
    expect((await keysUnder(ownPrefix)).length).toBeGreaterThan(0)
    const next = await running.fetch(new Request('http://app.test/count', { method: 'POST', headers: { cookie: `id=${wire}` } }))
    expect(await next.json()).toEqual({ counter: 8, user: 'ferris' })
    // The actix-session cookie no longer works: its record is gone.
    const replay = await running.fetch(new Request('http://app.test/', { headers: { cookie: `id=${actixCookie(key)}` } }))
    expect(await replay.json()).toEqual({ counter: 0, user: null })
  })

  it("writing actix-session's format, a session in cloakroom's own Redis format moves to an actix-session record", async () => {
    const store = new RedisStore({ client: redis, prefix: ownPrefix })
    const before = await overHttp(app({ store, keys: [CLOAKROOM_KEY] }).fetch)
    const made = await before.fetch(new Request('http://app.test/count', { method: 'POST' }))
    await before.close()
    const own = cookieValue(made)!
    expect(own.startsWith('e1.')).toBe(true)
    expect((await keysUnder(ownPrefix)).length).toBeGreaterThan(0)
    const { fetch } = await serve({ keys: [bytes(KEY.secret), CLOAKROOM_KEY] })
    const moved = await fetch(new Request('http://app.test/count', { method: 'POST', headers: { cookie: `id=${own}` } }))
    expect(await moved.json()).toEqual({ counter: 2, user: null })
    const key = openCookie(cookieValue(moved)!)
    expect(await raw.get(prefix + key)).toBe('{"counter":"2"}')
    expect(await raw.ttl(prefix + key)).toBeGreaterThan(DAY - 60)
    // The cloakroom record is deleted (only its 60-second purge marker is left), so the old cookie opens to nothing.
    const replay = await fetch(new Request('http://app.test/', { headers: { cookie: `id=${own}` } }))
    expect(await replay.json()).toEqual({ counter: 0, user: null })
  })
})
