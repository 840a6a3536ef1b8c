// The failure policy and the lifecycle events over HTTP, against a real Redis (a redis-server of
// the test's own) that is made to fail: with onStoreError 'anonymous' a public page stays up while
// the store is silent, writes made meanwhile are never stored, and every failure is reported.
import { Hono } from 'hono'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessions } from '../../src/adapters/hono/index.js'
import type { SessionEventMap } from '../../src/core/events.js'
import type { SessionOptions } from '../../src/core/options.js'
import { generateKey } from '../../src/crypto/keys.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import type { RunningApp } from '../../src/testing/adapter-conformance.js'
import { overHttp } from '../support/harness.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { freePort, hasRedisServer, startRedisServer, type RedisProcess } from '../support/redis-process.js'

type Seen = { [E in keyof SessionEventMap]: SessionEventMap[E][] }

function app(options: SessionOptions): Hono {
  const hono = new Hono()
  hono.use(sessions(options))
  hono.post('/count', async (c) => {
    const session = c.get('session')
    const n = ((await session.get('n')) ?? 0) as number
    session.insert('n', n + 1)
    return c.text(String(n + 1))
  })
  hono.get('/read', async (c) => c.text(String((await c.get('session').get('n')) ?? 0)))
  hono.post('/renew', (c) => (c.get('session').renew(), c.text('renewed')))
  hono.post('/logout', (c) => (c.get('session').purge(), c.text('bye')))
  return hono
}

function recorder(): { seen: Seen; events: NonNullable<SessionOptions['events']> } {
  const seen: Seen = { created: [], renewed: [], purged: [], expired: [], refused: [], storeError: [], conflict: [], migrated: [] }
  return {
    seen,
    events: {
      created: (event) => void seen.created.push(event),
      renewed: (event) => void seen.renewed.push(event),
      purged: (event) => void seen.purged.push(event),
      expired: (event) => void seen.expired.push(event),
      refused: (event) => void seen.refused.push(event),
      storeError: (event) => void seen.storeError.push(event),
      conflict: (event) => void seen.conflict.push(event),
    },
  }
}

describe('onStoreError and events over HTTP, with a Redis made to fail', () => {
  if (!hasRedisServer()) {
    if (process.env.CI === 'true') throw new Error('redis-server is missing; CI needs it')
    console.warn('\n!!!!! SKIPPING the failure-policy tests over HTTP: redis-server is not installed !!!!!\n')
    return
  }

  let redis: RedisProcess
  let client: ReturnType<typeof createClient>
  const servers: RunningApp[] = []
  const quiet = { error: () => {}, warn: () => {} }

  beforeAll(async () => {
    const port = await freePort()
    redis = await startRedisServer({ port })
    client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 100 } })
    client.on('error', () => {})
    await client.connect()
  })
  afterAll(async () => {
    for (const server of servers) await server.close()
    client.destroy()
    await redis.stop()
  })

  async function serve(options: Partial<SessionOptions>): Promise<RunningApp> {
    const server = await overHttp(app({ store: new RedisStore({ client, timeoutMs: 300 }), keys: [generateKey()], logger: quiet, ...options }).fetch)
    servers.push(server)
    return server
  }
  const send = (server: RunningApp, method: string, path: string, cookie?: string): Promise<Response> =>
    server.fetch(new Request(`http://localhost${path}`, { method, headers: cookie ? { cookie } : {} }))

  it("'anonymous': while Redis is silent a page reads an empty session (200), its writes are not stored, and storeError is reported", async () => {
    const { seen, events } = recorder()
    const server = await serve({ onStoreError: 'anonymous', events })
    const cookie = cookieHeader(await send(server, 'POST', '/count'))
    redis.signal('SIGSTOP')
    try {
      const read = await send(server, 'GET', '/read', cookie)
      expect(read.status).toBe(200)
      expect(await read.text()).toBe('0')
      const write = await send(server, 'POST', '/count', cookie)
      expect(write.status).toBe(200)
      expect(write.headers.getSetCookie()).toEqual([])
    } finally {
      redis.signal('SIGCONT')
    }
    expect(seen.storeError.map((event) => event.error.kind)).toEqual(['timeout', 'timeout'])
    // The write made while the store was down never reached it: the session still counts 1.
    expect(await (await send(server, 'GET', '/read', cookie)).text()).toBe('1')
  })

  it("'error' (the default): the same failure is an empty 500, and storeError is reported", async () => {
    const { seen, events } = recorder()
    const server = await serve({ events })
    const cookie = cookieHeader(await send(server, 'POST', '/count'))
    redis.signal('SIGSTOP')
    let read: Response
    try {
      read = await send(server, 'GET', '/read', cookie)
    } finally {
      redis.signal('SIGCONT')
    }
    expect(read.status).toBe(500)
    expect(await read.text()).toBe('')
    expect(seen.storeError).toHaveLength(1)
    expect(seen.storeError[0]!.error.kind).toBe('timeout')
  })

  it('created, renewed, purged, conflict and refused are reported, none carrying an id or a cookie value', async () => {
    const { seen, events } = recorder()
    const server = await serve({ events })
    const first = cookieHeader(await send(server, 'POST', '/count'))
    const renewed = cookieHeader(await send(server, 'POST', '/renew', first))
    await send(server, 'POST', '/logout', renewed)
    // A write racing the logout (the old cookie of the purged session) is a conflict.
    expect(sessionCookie(await send(server, 'POST', '/count', renewed))?.maxAge).toBe(0)
    await send(server, 'GET', '/read', 'id=forged-value')
    expect(seen.created).toHaveLength(1)
    expect(seen.renewed).toHaveLength(1)
    expect(seen.purged).toHaveLength(1)
    expect(seen.conflict).toEqual([{ at: expect.any(Number), cause: 'purged' }])
    expect(seen.refused).toEqual([{ at: expect.any(Number), reason: 'invalid', fingerprint: expect.stringMatching(/^[0-9a-f]{8}$/) }])
    const everything = JSON.stringify(seen)
    for (const cookie of [first, renewed]) expect(everything).not.toContain(cookie.slice(3, 20))
    expect(everything).not.toContain('forged-value')
  })
})
