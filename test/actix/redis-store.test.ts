import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACTIX_STORE } from '../../src/actix/store-hook.js'
import { EXPIRED, GONE } from '../../src/core/store.js'
import type { ChangeSet, SessionStore } from '../../src/core/store.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import { uniquePrefix } from '../support/redis-clients.js'
import { redisAnswers } from '../support/redis-process.js'

const CI = process.env.CI === 'true'
const redisUp = await redisAnswers(6379)
const MINUTE = 60_000

function changes(set: ChangeSet['set'] = {}): ChangeSet {
  return { clear: false, set, remove: [] }
}

describe("RedisStore's actix-session view, real Redis at 127.0.0.1:6379", () => {
  if (!redisUp) {
    if (CI) it('Redis at 127.0.0.1:6379 is available (required when CI=true)', () => expect.fail('Redis at 127.0.0.1:6379 is missing'))
    else console.warn('\n!!!!!!!!\n!!! SKIPPING actix-session RedisStore view tests: Redis at 127.0.0.1:6379 is missing\n!!!!!!!!\n')
    return
  }

  let client: Redis
  let raw: Redis
  /** Runs once, just before the store's next `SET … XX` reaches Redis (a logout landing in between). */
  let beforeUpdate: (() => Promise<unknown>) | undefined

  beforeAll(() => {
    client = new Redis({ host: '127.0.0.1', port: 6379 })
    raw = new Redis({ host: '127.0.0.1', port: 6379 })
  })
  afterAll(() => {
    client.disconnect()
    raw.disconnect()
  })

  /** The view over a real client whose SET … XX can be preceded by another connection's command. */
  function view(prefix: string): SessionStore {
    const gated = new Proxy(client, {
      get(target, property) {
        if (property === 'call') {
          return async (command: string, args: string[]) => {
            if (command === 'SET' && args.includes('XX') && beforeUpdate !== undefined) {
              const run = beforeUpdate
              beforeUpdate = undefined
              await run()
            }
            return target.call(command, args)
          }
        }
        const value: unknown = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    return new RedisStore({ client: gated, prefix: uniquePrefix() })[ACTIX_STORE]({ prefix })
  }

  it('creates under prefix + a 64-character key, with the 0.11 state and the TTL in whole seconds', async () => {
    const prefix = uniquePrefix()
    const store = view(prefix)
    const id = await store.create({ data: { a: 1, b: 'x' }, createdAt: Date.now(), absoluteExpiresAt: null }, 90_500)
    expect(id).toMatch(/^[A-Za-z0-9]{64}$/)
    expect(await raw.get(prefix + id)).toBe('{"a":"1","b":"\\"x\\""}')
    expect(await raw.ttl(prefix + id)).toBeGreaterThan(80)
    expect(await raw.ttl(prefix + id)).toBeLessThanOrEqual(90)
    const short = await store.create({ data: { a: 1 }, createdAt: Date.now(), absoluteExpiresAt: null }, 400)
    expect(await raw.ttl(prefix + short)).toBe(1)
  })

  it('a record deleted between the GET and the SET … XX is GONE: the logout wins and nothing is written', async () => {
    const prefix = uniquePrefix()
    const store = view(prefix)
    const id = await store.create({ data: { a: 1 }, createdAt: Date.now(), absoluteExpiresAt: null }, MINUTE)
    beforeUpdate = () => raw.del(prefix + id)
    expect(await store.apply(id, changes({ a: 2 }), MINUTE)).toBe(GONE)
    expect(beforeUpdate).toBeUndefined()
    expect(await raw.keys(`${prefix}*`)).toEqual([])
  })

  it('a missing record is EXPIRED for apply, renew and touch, and null for load', async () => {
    const store = view(uniquePrefix())
    const missing = 'M'.repeat(64)
    expect(await store.load(missing)).toBeNull()
    expect(await store.apply(missing, changes({ a: 1 }), MINUTE)).toBe(EXPIRED)
    expect(await store.renew(missing, changes(), MINUTE)).toBe(EXPIRED)
    expect(await store.touch(missing, MINUTE)).toBe(EXPIRED)
  })

  it('something other than a string under the key is no session; an unparsable string is an empty one', async () => {
    const prefix = uniquePrefix()
    const store = view(prefix)
    await raw.hset(`${prefix}${'H'.repeat(64)}`, 'f', 'v')
    await raw.expire(`${prefix}${'H'.repeat(64)}`, 60)
    expect(await store.load('H'.repeat(64))).toBeNull()
    await raw.set(`${prefix}${'S'.repeat(64)}`, '[1,2]', 'EX', 60)
    expect((await store.load('S'.repeat(64)))?.data).toEqual({})
    expect(await store.apply('S'.repeat(64), changes({ k: true }), MINUTE)).toBe('S'.repeat(64))
    expect(await raw.get(`${prefix}${'S'.repeat(64)}`)).toBe('{"k":"true"}')
  })

  it('renew moves the state, changes applied, to a new key and deletes the old one', async () => {
    const prefix = uniquePrefix()
    const store = view(prefix)
    await raw.set(`${prefix}${'R'.repeat(64)}`, '{"v":1,"state":{"n":1}}', 'EX', 60)
    const renewed = await store.renew('R'.repeat(64), changes({ m: 2 }), MINUTE)
    expect(typeof renewed === 'string' && renewed !== 'R'.repeat(64)).toBe(true)
    expect(await raw.exists(`${prefix}${'R'.repeat(64)}`)).toBe(0)
    expect(await raw.get(`${prefix}${renewed as string}`)).toBe('{"n":"1","m":"2"}')
  })
})
