import { createConnection } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { StoreError } from '../../src/core/errors.js'
import { EXPIRED, GONE } from '../../src/core/store.js'
import type { ChangeSet, SessionOwner, SessionRecord } from '../../src/core/store.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import type { OpenClient } from '../support/redis-clients.js'
import { openClient, uniquePrefix } from '../support/redis-clients.js'
import { freePort, hasRedisServer, startRedisServer } from '../support/redis-process.js'
import type { RedisProcess } from '../support/redis-process.js'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { hangGuard, waitFor } from '../support/wait.js'

// Every test here runs its own redis-server on a free port: the shared one on 6379 is never touched.
const CI = process.env.CI === 'true'
// The bound under test; only the calls that are meant to run into it use it.
const TIMEOUT = 300
// Every other call: a healthy call on a loaded machine must never trip its bound.
const PATIENT = 10_000
const MINUTE = 60_000
const available = hasRedisServer()

function changes(partial: Partial<ChangeSet> = {}): ChangeSet {
  return { clear: false, set: {}, remove: [], ...partial }
}
function record(data: SessionRecord['data']): SessionRecord {
  return { data, createdAt: Date.now(), absoluteExpiresAt: null }
}
function owner(userId: string, lastSeenAt = 1_700_000_000_000): SessionOwner {
  return { userId, handle: `handle-of-${userId}`, lastSeenAt, info: {} }
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Retries `fn` until it resolves, for at most `ms`; the last error if it never does. */
async function eventually<T>(fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await pause(100)
    }
  }
}

/**
 * The rejection of `promise` (fails if it resolves). The calls here are bounded by the store's
 * timeoutMs; the hang guard only turns a call that never settles into a clear failure.
 */
async function rejection(promise: Promise<unknown>): Promise<{ error: unknown }> {
  const outcome = await hangGuard(
    promise.then(
      () => ({ rejected: false as const }),
      (error: unknown) => ({ rejected: true as const, error }),
    ),
    'the store call',
  )
  if (!outcome.rejected) throw new Error('expected a rejection')
  return { error: outcome.error }
}

function expectCleanError(error: unknown, secrets: string[]): asserts error is StoreError {
  expect(error).toBeInstanceOf(StoreError)
  const text = `${(error as Error).message} ${(error as Error).stack ?? ''}`
  for (const secret of secrets) expect(text).not.toContain(secret)
}

/** Collects unhandled rejections for the duration of the file. */
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

const kinds = ['node-redis', 'ioredis'] as const

describe('RedisStore under faults (own redis-server processes)', () => {
  if (!available) {
    if (CI) {
      it('redis-server is available (required when CI=true)', () => {
        throw new Error('redis-server is missing')
      })
    } else {
      console.warn('\n!!!!!!!!\n!!! SKIPPING RedisStore fault tests: redis-server is missing\n!!!!!!!!\n')
    }
    return
  }

  const servers: RedisProcess[] = []
  const clients: OpenClient[] = []
  const rawClients: { close(): Promise<unknown> | void }[] = []
  const start = async (port?: number) => {
    const server = await startRedisServer(port === undefined ? {} : { port })
    servers.push(server)
    return server
  }
  const connect = async (kind: (typeof kinds)[number], port: number) => {
    const open = await openClient(kind, [port])
    clients.push(open)
    return open
  }

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled)
  })
  afterEach(async () => {
    // Late replies and rejections of timed-out commands: closing the test's clients settles every
    // command they still hold (node-redis waits for the replies, ioredis rejects what is pending).
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
    await Promise.all(rawClients.splice(0).map(async (c) => c.close()))
    await Promise.all(servers.splice(0).map((s) => s.stop()))
    // Node reports an unhandled rejection once the microtasks of the turn it happened in drain.
    await new Promise((resolve) => setImmediate(resolve))
    // Emptied on every check, so one test's leak fails that test only.
    expect(unhandled.splice(0)).toEqual([])
  })
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled)
  })

  // A timeoutMs far beyond the hang guard: an answer at all proves the call did not wait it out.
  it('rejects at once with StoreError("unavailable") for a node-redis client that was never connected', async () => {
    const store = new RedisStore({ client: createClient({ url: 'redis://127.0.0.1:1' }), timeoutMs: 10 * MINUTE })
    const { error } = await rejection(store.load('abcdefgh.' + 'x'.repeat(43)))
    expectCleanError(error, [])
    expect(error.kind).toBe('unavailable')
  })

  describe.each(kinds)('%s', (kind) => {
    it('rejects with StoreError("unavailable") within timeoutMs when Redis is unreachable at start, and works once it is up', async () => {
      const port = await freePort()
      let client: OpenClient['client']
      if (kind === 'node-redis') {
        const c = createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => {})
        c.connect().catch(() => {})
        rawClients.push({ close: () => c.destroy() })
        client = c
      } else {
        const c = new Redis({ host: '127.0.0.1', port })
        c.on('error', () => {})
        rawClients.push({ close: () => c.disconnect() })
        client = c
      }
      const store = new RedisStore({ client, prefix: uniquePrefix(), timeoutMs: TIMEOUT })
      const patient = new RedisStore({ client, prefix: store.prefix, timeoutMs: PATIENT })
      const { error } = await rejection(store.create(record({ a: 1 }), MINUTE))
      expectCleanError(error, [])
      expect(error.kind).toBe('unavailable')
      const loadFailure = await rejection(store.load('abcdefgh.' + 'x'.repeat(43)))
      expect((loadFailure.error as StoreError).kind).toBe('unavailable')

      await start(port)
      const id = await eventually(() => patient.create(record({ a: 1 }), MINUTE))
      expect((await patient.load(id))?.data).toEqual({ a: 1 })
    })

    it('drops a write that gave up while the client waited for a connection, so it is never sent later', async (context) => {
      // ioredis cannot withdraw a queued command (docs/stores/redis.md says so).
      if (kind !== 'node-redis') return context.skip()
      const port = await freePort()
      const c = createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => {})
      c.connect().catch(() => {})
      rawClients.push({ close: () => (c.isOpen ? c.destroy() : undefined) })
      const store = new RedisStore({ client: c, prefix: uniquePrefix(), timeoutMs: TIMEOUT })
      const { error } = await rejection(store.create(record({ a: 1 }), MINUTE))
      expect((error as StoreError).kind).toBe('unavailable')
      // node-redis's close() waits until its queue is empty: it settles only once the queued write was
      // dropped (a command still queued would wait for a Redis that never comes, and hang it).
      await hangGuard(c.close(), 'closing a client whose only command gave up')
    })

    it('fails every in-flight call with a StoreError when Redis is killed mid-operation, then recovers on the same client after a restart', async () => {
      const server = await start()
      const open = await connect(kind, server.port)
      const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: TIMEOUT })
      const patient = new RedisStore({ client: open.client, prefix: store.prefix, timeoutMs: PATIENT })
      const id = await patient.create(record({ secret: 'value-9f3a' }), MINUTE)
      const calls = Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? store.load(id) : store.apply(id, changes({ set: { [`k${i}`]: 'value-9f3a' } }), MINUTE),
      )
      // Handlers attached before the kill: a call that fails while the kill is still running must
      // not count as an unhandled rejection (it is handled, just a moment later).
      const outcomes = Promise.allSettled(calls)
      await server.kill()
      const settled = await hangGuard(outcomes, 'the calls in flight when Redis died')
      for (const outcome of settled) {
        if (outcome.status === 'rejected') expectCleanError(outcome.reason, [id, 'value-9f3a'])
      }
      expect(settled.filter((o) => o.status === 'rejected').length).toBeGreaterThan(0)
      // With the server gone, a new call fails fast and typed too.
      const down = await rejection(store.load(id))
      expectCleanError(down.error, [id])
      expect(['unavailable', 'timeout']).toContain(down.error.kind)

      await start(server.port)
      const fresh = await eventually(() => patient.create(record({ after: 'restart' }), MINUTE))
      expect((await patient.load(fresh))?.data).toEqual({ after: 'restart' })
    })

    it('treats a Redis restarted empty as "no session" (EXPIRED) for old ids, and creates new ones on the same client', async () => {
      const server = await start()
      const open = await connect(kind, server.port)
      const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: PATIENT })
      const old = await store.create(record({ a: 1 }), MINUTE)
      await server.kill()
      await start(server.port)
      expect(await eventually(() => store.load(old))).toBeNull()
      expect(await store.apply(old, changes({ set: { a: 2 } }), MINUTE)).toBe(EXPIRED)
      expect(await store.touch(old, MINUTE)).toBe(EXPIRED)
      expect(await store.load(old)).toBeNull()
      const fresh = await store.create(record({ b: 2 }), MINUTE)
      expect((await store.load(fresh))?.data).toEqual({ b: 2 })
    })

    it('rejects with StoreError("timeout") within timeoutMs when Redis is silent (SIGSTOP), and the next call succeeds after SIGCONT', async () => {
      const server = await start()
      const open = await connect(kind, server.port)
      const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: TIMEOUT })
      const patient = new RedisStore({ client: open.client, prefix: store.prefix, timeoutMs: PATIENT })
      const id = await patient.create(record({ n: 0 }), MINUTE)
      server.signal('SIGSTOP')
      try {
        for (const call of [store.load(id), store.apply(id, changes({ set: { n: 1 } }), MINUTE), store.delete(id)]) {
          const { error } = await rejection(call)
          expectCleanError(error, [id])
          expect(error.kind).toBe('timeout')
        }
      } finally {
        server.signal('SIGCONT')
      }
      // The writes that timed out were already sent, so they may land after all (documented); the
      // client must still pair replies with the right calls.
      const next = await patient.create(record({ fresh: true }), MINUTE)
      expect((await patient.load(next))?.data).toEqual({ fresh: true })
    })

    it('recovers from NOSCRIPT after SCRIPT FLUSH, and the next EVALSHA hits the re-cached script', async () => {
      const server = await start()
      const open = await connect(kind, server.port)
      const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: PATIENT })
      const id = await store.create(record({ n: 0 }), MINUTE)
      await open.raw(['SCRIPT', 'FLUSH'])
      await open.raw(['CONFIG', 'RESETSTAT'])
      expect(await store.apply(id, changes({ set: { n: 1 } }), MINUTE)).toBe(id)
      expect(await store.apply(id, changes({ set: { n: 2 } }), MINUTE)).toBe(id)
      const stats = String(await open.raw(['INFO', 'commandstats']))
      expect(stats).toMatch(/cmdstat_eval:calls=1,/)
      expect(stats).toMatch(/cmdstat_evalsha:calls=2,.*failed_calls=1/)
      expect((await store.load(id))?.data).toEqual({ n: 2 })
    })

    it('while Redis is out of memory, refuses an apply whole, and still touches and deletes (even an unknown id)', async () => {
      const server = await start()
      const open = await connect(kind, server.port)
      const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: PATIENT })
      const id = await store.create(record({ a: 1, b: 2 }), MINUTE)
      const other = await store.create(record({ c: 3 }), MINUTE)
      const unknown = `${id.split('.')[0]}.${'u'.repeat(43)}`
      // Any use is over a 1-byte bound, and the default policy (noeviction) refuses writes that need memory.
      await open.raw(['CONFIG', 'SET', 'maxmemory', '1'])
      try {
        // It removes keys (no memory needed) before it sets one (memory needed): it must not slip through.
        const { error } = await rejection(store.apply(id, changes({ clear: true, set: { big: 'x'.repeat(1000) } }), MINUTE))
        expectCleanError(error, [id])
        expect(await store.touch(id, MINUTE)).toBe(id)
        await store.delete(other)
        await store.delete(unknown)
      } finally {
        await open.raw(['CONFIG', 'SET', 'maxmemory', '0'])
      }
      expect((await store.load(id))?.data).toEqual({ a: 1, b: 2 })
      expect(await store.load(other)).toBeNull()
      expect(await store.apply(other, changes({ set: { c: 4 } }), MINUTE)).toBe(GONE)
      expect(await store.apply(unknown, changes({ set: { c: 4 } }), MINUTE)).toBe(GONE)
    })

    it('costs exactly one HGETALL for a load and one EVALSHA for an apply', async () => {
      const server = await start()
      const open = await connect(kind, server.port)
      const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: PATIENT })
      const id = await store.create(record({ counter: 1 }), MINUTE)
      // A server that never ran the apply script answers the first EVALSHA with NOSCRIPT.
      await store.apply(id, changes(), MINUTE)
      const seen = await monitor(server.port, async () => {
        const loaded = await store.load(id)
        await store.apply(id, changes({ set: { counter: Number(loaded?.data['counter']) + 1 } }), MINUTE)
      })
      expect(seen).toEqual(['HGETALL', 'EVALSHA'])
    })

    it('costs exactly one HGETALL and one EVALSHA for a request on a filed session, also one that refreshes lastSeenAt', async () => {
      const server = await start()
      const open = await connect(kind, server.port)
      const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: TIMEOUT })
      const id = await store.create({ ...record({ counter: 1, userId: 'u1' }), owner: owner('u1') }, MINUTE)
      await store.apply(id, changes(), MINUTE)
      const seen = await monitor(server.port, async () => {
        const loaded = await store.load(id)
        await store.apply(id, changes({ set: { counter: Number(loaded?.data['counter']) + 1 } }), MINUTE)
        const again = await store.load(id)
        await store.apply(id, changes({ set: { counter: 3 }, owner: owner('u1', Number(again?.owner?.lastSeenAt) + MINUTE) }), MINUTE)
      })
      expect(seen).toEqual(['HGETALL', 'EVALSHA', 'HGETALL', 'EVALSHA'])
      expect((await store.listByUser('u1')).map((entry) => entry.lastSeenAt)).toEqual([1_700_000_000_000 + MINUTE])
    })

    it('costs one command more at login, renew and logout of a filed session (its index entry), and nothing more for others', async () => {
      const server = await start()
      const open = await connect(kind, server.port)
      const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: TIMEOUT })
      // Once through every path first: a fresh server answers each script's first EVALSHA with NOSCRIPT.
      const warm = await store.create(record({}), MINUTE)
      const warmed = (await store.renew(warm, changes({ owner: owner('warm') }), MINUTE)) as string
      await store.apply(warmed, changes({ owner: null }), MINUTE)
      await store.delete(warmed)
      const plain = await store.create(record({}), MINUTE)
      await store.delete(plain)

      const id = await store.create(record({ cart: 1 }), MINUTE)
      let renewed = ''
      const login = await monitor(server.port, async () => {
        renewed = (await store.renew(id, changes({ set: { userId: 'u1' }, owner: owner('u1') }), MINUTE)) as string
      })
      expect(login).toEqual(['EVALSHA', 'EVALSHA'])
      const again = await monitor(server.port, async () => {
        renewed = (await store.renew(renewed, changes(), MINUTE)) as string
      })
      expect(again).toEqual(['EVALSHA', 'EVALSHA'])
      const logout = await monitor(server.port, () => store.delete(renewed))
      expect(logout).toEqual(['EVALSHA', 'EVALSHA'])
      const unfiled = await store.create(record({}), MINUTE)
      const others = await monitor(server.port, async () => {
        const next = (await store.renew(unfiled, changes(), MINUTE)) as string
        await store.delete(next)
      })
      expect(others).toEqual(['EVALSHA', 'EVALSHA'])
    })
  })
})

/**
 * The commands clients (not scripts) sent to the server on `port` while `fn` ran, via MONITOR. A
 * marker command sent after `fn` settles ends the capture: Redis runs commands one at a time, so
 * once the marker shows in the feed, everything `fn` sent is in it too.
 */
async function monitor(port: number, fn: () => Promise<void>): Promise<string[]> {
  const socket = createConnection({ host: '127.0.0.1', port })
  let text = ''
  socket.on('data', (chunk) => (text += chunk.toString()))
  socket.write('MONITOR\r\n')
  await waitFor(() => text.startsWith('+OK'), 'MONITOR starting')
  await fn()
  const marker = `end-of-capture-${Math.random().toString(36).slice(2)}`
  const sender = createConnection({ host: '127.0.0.1', port }, () => sender.write(`ECHO ${marker}\r\n`))
  await waitFor(() => text.includes(marker), 'the marker command reaching MONITOR')
  sender.destroy()
  socket.destroy()
  return text
    .slice(0, text.indexOf(marker))
    .split('\r\n')
    .filter((line) => line.startsWith('+') && !line.startsWith('+OK') && !line.includes('lua]') && !line.includes('"ECHO"'))
    .map((line) => /\] "([^"]+)"/.exec(line)?.[1]?.toUpperCase() ?? line)
}
