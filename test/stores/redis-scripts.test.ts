import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChangeSet, SessionRecord } from '../../src/core/store.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import { APPLY, CREATE, DELETE, RENEW, TOUCH } from '../../src/stores/redis/scripts.js'
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

describe('RedisStore scripts declare every key they touch', () => {
  if (!up) {
    if (CI) it('Redis at 127.0.0.1:6379 is available (required when CI=true)', () => expect.fail('Redis is missing'))
    else console.warn('\n!!!!!!!!\n!!! SKIPPING RedisStore script tests: Redis at 127.0.0.1:6379 is missing\n!!!!!!!!\n')
    return
  }

  const scripts = [CREATE, APPLY, TOUCH, RENEW, DELETE]
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true })
  redis.on('error', () => {})
  const recorder = new ScriptRecorder(redis, scripts)
  const prefixes: string[] = []
  const makeStore = (): RedisStore => {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    return new RedisStore({ client: recorder, prefix })
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

  it('ran every script, and none touched a key it did not declare', () => {
    for (const script of scripts) expect(recorder.runs.get(script.name), script.name).toBeGreaterThan(0)
    expect(recorder.undeclared).toEqual([])
  })
})
