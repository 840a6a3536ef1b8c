// Store failures at the HTTP level (issue: Redis unreachable at start, killed mid-load, restarted
// empty, silent; PostgreSQL with a terminated backend): a typed error within a bounded time, an
// empty-bodied 500 with no-store, no hang, no crash, no unhandled rejection — and the next request
// after the backend returns succeeds without restarting the app.
import { Hono } from 'hono'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessions } from '../../src/adapters/hono/index.js'
import type { CloakroomError } from '../../src/core/errors.js'
import { StoreError } from '../../src/core/errors.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import type { RunningApp } from '../../src/testing/adapter-conformance.js'
import { overHttp } from '../support/harness.js'
import { cookieHeader } from '../support/http.js'
import { findTestPostgres, openTestSchema } from '../support/postgres.js'
import { freePort, hasRedisServer, startRedisServer, type RedisProcess } from '../support/redis-process.js'
import { HANG_GUARD_MS, hangGuard, waitFor } from '../support/wait.js'

const TIMEOUT = 300
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
process.on('unhandledRejection', onUnhandled)
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled).toEqual([])
})

function app(store: SessionStore, errors: CloakroomError[]): Hono {
  const hono = new Hono()
  hono.use(
    sessions({
      store,
      keys: [generateKey()],
      logger: { error: () => {}, warn: () => {} },
      onError: (error) => {
        errors.push(error)
        return new Response(null, { status: 500, headers: { 'cache-control': 'no-store' } })
      },
    }),
  )
  hono.post('/count', async (c) => {
    const session = c.get('session')
    const n = ((await session.get('n')) ?? 0) as number
    session.insert('n', n + 1)
    return c.text(String(n + 1))
  })
  hono.get('/read', async (c) => c.text(String((await c.get('session').get('n')) ?? 0)))
  return hono
}

// Bounded by the store's timeoutMs; the hang guard only turns a hang into a clear failure.
async function expectEmpty500(response: Promise<Response>): Promise<void> {
  const settled = await hangGuard(response, 'the response to a failing store')
  expect(settled.status).toBe(500)
  expect(await settled.text()).toBe('')
  expect(settled.headers.get('cache-control')).toBe('no-store')
  expect(settled.headers.getSetCookie()).toEqual([])
}

async function eventually(request: () => Promise<Response>, status = 200): Promise<Response> {
  const deadline = Date.now() + HANG_GUARD_MS
  for (;;) {
    const response = await request()
    if (response.status === status || Date.now() > deadline) return response
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('Redis failures over HTTP (node-redis, a redis-server of the test own)', () => {
  if (!hasRedisServer()) {
    if (process.env.CI === 'true') throw new Error('redis-server is missing; CI needs it')
    console.warn('\n!!!!! SKIPPING Redis failure tests over HTTP: redis-server is not installed !!!!!\n')
    return
  }

  let redis: RedisProcess | undefined
  let server: RunningApp
  let client: ReturnType<typeof createClient>
  let port: number
  const errors: CloakroomError[] = []
  const post = (path: string, cookie?: string): Promise<Response> =>
    server.fetch(new Request(`http://localhost${path}`, { method: 'POST', headers: cookie ? { cookie } : {} }))
  const get = (path: string, cookie: string): Promise<Response> => server.fetch(new Request(`http://localhost${path}`, { headers: { cookie } }))

  beforeAll(async () => {
    port = await freePort()
    client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 100 } })
    client.on('error', () => {})
    void client.connect().catch(() => {})
    server = await overHttp(app(new RedisStore({ client, timeoutMs: TIMEOUT }), errors).fetch)
  })
  afterAll(async () => {
    await server.close()
    client.destroy()
    await redis?.stop()
  })

  it('Redis unreachable at start: an empty 500 within the bound, then success once Redis is up', async () => {
    await expectEmpty500(post('/count'))
    expect(errors.at(-1)).toBeInstanceOf(StoreError)
    redis = await startRedisServer({ port })
    const response = await eventually(() => post('/count'))
    expect(await response.text()).toBe('1')
  })

  it('Redis killed: a load gives an empty 500; restarted empty, the old cookie is no session and new ones work', async () => {
    const cookie = cookieHeader(await eventually(() => post('/count')))
    await redis!.kill()
    await expectEmpty500(get('/read', cookie))
    expect(['unavailable', 'timeout']).toContain((errors.at(-1) as StoreError).kind)
    redis = await startRedisServer({ port })
    const after = await eventually(() => get('/read', cookie))
    expect(await after.text()).toBe('0')
    expect(await (await post('/count')).text()).toBe('1')
  })

  it('Redis silent (SIGSTOP): an empty 500 after the timeout, no hang; the next request succeeds after SIGCONT', async () => {
    const cookie = cookieHeader(await eventually(() => post('/count')))
    redis!.signal('SIGSTOP')
    try {
      await expectEmpty500(get('/read', cookie))
      expect((errors.at(-1) as StoreError).kind).toBe('timeout')
    } finally {
      redis!.signal('SIGCONT')
    }
    const after = await eventually(() => post('/count', cookie))
    expect(await after.text()).toBe('2')
  })
})

const postgres = await findTestPostgres()
describe.skipIf(postgres === null)('PostgreSQL failures over HTTP', () => {
  it('a terminated backend gives a typed error and an empty 500 at worst, and the next request succeeds on the same pool', async () => {
    const run = await openTestSchema(postgres!)
    const errors: CloakroomError[] = []
    const table = run.freshTable()
    const store = new PostgresStore({ pool: run.pool, schema: run.schema, table, timeoutMs: 5_000 })
    await store.migrate()
    const server = await overHttp(app(store, errors).fetch)
    try {
      const post = (cookie?: string): Promise<Response> =>
        server.fetch(new Request('http://localhost/count', { method: 'POST', headers: cookie ? { cookie } : {} }))
      const cookie = cookieHeader(await post())
      // Hold the row so that the next apply waits inside PostgreSQL, then kill the backend it waits in.
      const locker = await run.pool.connect()
      await locker.query('BEGIN')
      await locker.query(`SELECT 1 FROM "${run.schema}"."${table}" FOR UPDATE`)
      const pending = post(cookie)
      await waitFor(async () => {
        const waiting = await run.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)
        return (waiting.rows[0] as { n: number }).n > 0
      }, 'the apply waiting on the row lock')
      const killed = await run.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND wait_event_type = 'Lock'`,
      )
      expect(killed.rowCount).toBeGreaterThan(0)
      await expectEmpty500(pending)
      expect(errors.at(-1)).toBeInstanceOf(StoreError)
      await locker.query('ROLLBACK')
      locker.release()
      const after = await eventually(() => post(cookie))
      expect(await after.text()).toBe('2')
    } finally {
      await server.close()
      await run.drop()
    }
  })
})
