import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { ChangeSet, SessionOwner, SessionRecord } from '../../src/core/store.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import { APPLY, CREATE, DELETE, RENEW, TAKE, TOUCH } from '../../src/stores/redis/scripts.js'
import { INDEX_ADD, INDEX_FIX, READ } from '../../src/stores/redis/index-scripts.js'
import { storageKey } from '../../src/stores/shared/ids.js'
import { defineStoreConformance } from '../../src/testing/index.js'
import { deletePrefix, dumpPrefix, expireMarkers, uniquePrefix } from '../support/redis-clients.js'
import { ScriptRecorder } from '../support/redis-script-recorder.js'
import { redisAnswers } from '../support/redis-process.js'

// Every script runs logged on a real Redis, and Redis' own COMMAND GETKEYS says which arguments of
// each command it ran are keys: a key that is not among the script's KEYS is a script that can fail
// halfway through in a cluster (another slot, or a key already moved by a slot migration).
const CI = process.env.CI === 'true'
const MINUTE = 60_000
const up = await redisAnswers(6379)

function changes(partial: Partial<ChangeSet> = {}): ChangeSet {
  return { clear: false, set: {}, remove: [], ...partial }
}
function record(data: SessionRecord['data']): SessionRecord {
  return { data, createdAt: Date.now(), absoluteExpiresAt: null }
}
function owner(userId: string, handle: string): SessionOwner {
  return { userId, handle, lastSeenAt: Date.now(), info: {} }
}

describe('RedisStore scripts declare every key they touch', () => {
  if (!up) {
    if (CI) it('Redis at 127.0.0.1:6379 is available (required when CI=true)', () => expect.fail('Redis is missing'))
    else console.warn('\n!!!!!!!!\n!!! SKIPPING RedisStore script tests: Redis at 127.0.0.1:6379 is missing\n!!!!!!!!\n')
    return
  }

  const scripts = [CREATE, APPLY, TOUCH, TAKE, RENEW, DELETE, READ, INDEX_ADD, INDEX_FIX]
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true })
  redis.on('error', () => {})
  const recorder = new ScriptRecorder(redis, scripts)
  const prefixes: string[] = []
  const makeStore = (): RedisStore => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    // The recorder asks Redis about every command a script ran (COMMAND GETKEYS) before it answers,
    // so listing 1,000 sessions takes several times as long as it does without it.
    return new RedisStore({ client: recorder, prefix, timeoutMs: 10_000 })
  }
  const keyOf = (store: RedisStore, id: string) => `${store.prefix}{${id.split('.')[0]}}${storageKey(id)}`

  beforeAll(() => redis.connect())
  afterAll(async () => {
    await deletePrefix([6379], prefixes)
    redis.disconnect()
  })

  // Every path of every script the contract knows, through the logging client.
  defineStoreConformance({
    name: 'RedisStore (every script logged)',
    test: { describe, it, beforeAll, afterAll },
    makeStore,
    dumpBackend: (store) => dumpPrefix([6379], (store as RedisStore).prefix),
    expireMarkers: (store) => expireMarkers([6379], (store as RedisStore).prefix),
  })

  it('follows a chain of three renews and a key holding another type', async () => {
    const store = makeStore()
    const first = await store.create(record({ a: 1 }), MINUTE)
    let id = first
    for (let i = 0; i < 3; i++) id = (await store.renew(id, changes({ set: { i } }), MINUTE)) as string
    await store.delete(first)
    expect(await store.load(id)).toBeNull()

    const odd = await store.create(record({ a: 1 }), MINUTE)
    await redis.set(keyOf(store, odd), 'not a hash')
    await store.apply(odd, changes({ set: { a: 2 } }), MINUTE)
    await store.delete(odd)
    expect(await redis.type(keyOf(store, odd))).toBe('hash')
  })

  it('follows a forwarding marker from a stale index entry, refuses to revoke a session filed otherwise, and sweeps', async () => {
    const store = makeStore()
    const id = await store.create({ ...record({}), owner: owner('u1', 'h1') }, MINUTE)
    const renewed = (await store.renew(id, changes(), MINUTE)) as string
    const index = `${store.prefix}u:{${storageKey('u1')}}`
    await redis.hset(index, 'h:h1', keyOf(store, id).slice(store.prefix.length))
    expect((await store.listByUser('u1')).map((entry) => entry.handle)).toEqual(['h1'])
    await store.apply(renewed, changes({ owner: owner('u2', 'h1') }), MINUTE)
    await redis.hset(index, 'h:h1', keyOf(store, renewed).slice(store.prefix.length))
    expect(await store.revokeByUser('u1', { handles: ['h1'] })).toBe(0)
    expect(await store.load(renewed)).not.toBeNull()
    for (let i = 0; i < 32; i++) await store.create({ ...record({}), owner: owner('u3', `h${i}`) }, MINUTE)
    await vi.waitFor(async () => expect(await redis.hexists(`${store.prefix}u:{${storageKey('u3')}}`, 'm:sweep')).toBe(1), { timeout: 5000, interval: 50 })
  })

  it('ran every script, and none touched a key it did not declare', () => {
    for (const script of scripts) expect(recorder.runs.get(script.name), script.name).toBeGreaterThan(0)
    expect(recorder.undeclared).toEqual([])
  })
})
