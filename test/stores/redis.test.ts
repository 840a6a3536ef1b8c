import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { StoreError } from '../../src/core/errors.js'
import { EXPIRED, GONE, RENEWED } from '../../src/core/store.js'
import type { ChangeSet, SessionOwner, SessionRecord } from '../../src/core/store.js'
import { storageKey } from '../../src/stores/shared/ids.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import { defineRevocationListConformance, defineStoreConformance } from '../../src/testing/index.js'
import type { RedisClientKind, OpenClient } from '../support/redis-clients.js'
import { deletePrefix, dumpPrefix, expireMarkers, onEachNode, openClient, uniquePrefix } from '../support/redis-clients.js'
import { beginSlotMigration, startRedisCluster } from '../support/redis-cluster.js'
import type { RedisCluster } from '../support/redis-cluster.js'
import { hasRedisServer, redisAnswers } from '../support/redis-process.js'

const CI = process.env.CI === 'true'
const MINUTE = 60_000
const standaloneUp = await redisAnswers(6379)
const serverBinary = hasRedisServer()

function changes(partial: Partial<ChangeSet> = {}): ChangeSet {
  return { clear: false, set: {}, remove: [], ...partial }
}
function record(data: SessionRecord['data'], absoluteExpiresAt: number | null = null): SessionRecord {
  return { data, createdAt: Date.now(), absoluteExpiresAt }
}
function keyIn(prefix: string, id: string): string {
  return `${prefix}{${id.split('.')[0]}}${storageKey(id)}`
}
function owner(userId: string, handle = `handle-of-${userId}`): SessionOwner {
  return { userId, handle, lastSeenAt: 1_700_000_000_000, info: { userAgent: 'Firefox' } }
}
/** The user's index key, as docs/stores/redis.md describes it: the user id only as its SHA-256. */
function indexIn(prefix: string, userId: string): string {
  return `${prefix}u:{${createHash('sha256').update(userId).digest('base64url')}}`
}
/** Whether every key in a dump is a purge marker (what `delete` leaves for 60 s), and there is one. */
function onlyPurgeMarkers(dump: string): boolean {
  const lines = dump.split('\n')
  return dump !== '' && lines.every((line) => line.endsWith(' hash ["m:gone","1"]'))
}

/** Registers a failing test in CI, or warns loudly and registers nothing elsewhere. */
function requireService(available: boolean, what: string): boolean {
  if (available) return true
  if (CI) {
    it(`${what} is available (required when CI=true)`, () => {
      throw new Error(`${what} is missing`)
    })
  } else {
    console.warn(`\n!!!!!!!!\n!!! SKIPPING RedisStore tests: ${what} is missing\n!!!!!!!!\n`)
  }
  return false
}

/** Everything the tests need for one client kind, filled in by beforeAll. */
interface Setup {
  open: OpenClient
  prefixes: string[]
  store(options?: { prefix?: string }): RedisStore
  keyOf(store: RedisStore, id: string): string
  dump(store: RedisStore): Promise<string>
}

function defineRedisStoreTests(kind: RedisClientKind, ports: () => number[]): void {
  const setup = {} as Setup

  beforeAll(async () => {
    setup.open = await openClient(kind, ports())
    setup.prefixes = []
    setup.store = (options = {}) => {
      const prefix = options.prefix ?? uniquePrefix()
      setup.prefixes.push(prefix)
      return new RedisStore({ client: setup.open.client, prefix })
    }
    setup.keyOf = (store, id) => keyIn(store.prefix, id)
    setup.dump = (store) => dumpPrefix(ports(), store.prefix)
  })
  afterAll(async () => {
    if (!setup.open) return
    await deletePrefix(ports(), setup.prefixes)
    await setup.open.close()
  })

  defineStoreConformance({
    name: `RedisStore (${kind})`,
    test: { describe, it, beforeAll, afterAll },
    makeStore: () => setup.store(),
    dumpBackend: (store) => setup.dump(store as RedisStore),
    expireMarkers: (store) => expireMarkers(ports(), (store as RedisStore).prefix),
  })

  defineRevocationListConformance({
    name: `RedisStore (${kind})`,
    test: { describe, it },
    makeList: () => setup.store().revocationList(),
  })

  describe('sessions filed by user', () => {
    it('keeps the owner in the session hash, and the user\'s index under a hash of the user id, never the id itself', async () => {
      const store = setup.store()
      const user = 'ferris@example.org'
      const id = await store.create({ ...record({ userId: user }), owner: owner(user) }, MINUTE)
      const key = setup.keyOf(store, id)
      expect(await setup.open.raw(['HMGET', key, 'o:user', 'o:handle', 'o:seen', 'o:info'], key)).toEqual([
        user,
        `handle-of-${user}`,
        '1700000000000',
        '{"userAgent":"Firefox"}',
      ])
      const index = indexIn(store.prefix, user)
      expect(await setup.open.raw(['HGETALL', index], index)).toEqual([`h:handle-of-${user}`, key.slice(store.prefix.length)])
      await store.revocationList().set(user, { before: 1 }, MINUTE)
      const names = (await setup.dump(store)).split('\n').map((line) => line.split(' ')[0])
      expect(names).toHaveLength(3)
      for (const name of names) expect(name).not.toContain('ferris')
    })

    it('points the index entry at the new key after a renew, and drops it on logout', async () => {
      const store = setup.store()
      const id = await store.create({ ...record({ userId: 'u1' }), owner: owner('u1') }, MINUTE)
      const renewed = (await store.renew(id, changes({ set: { n: 1 } }), MINUTE)) as string
      const index = indexIn(store.prefix, 'u1')
      expect(await setup.open.raw(['HGET', index, 'h:handle-of-u1'], index)).toBe(setup.keyOf(store, renewed).slice(store.prefix.length))
      await store.delete(id)
      expect(await setup.open.raw(['EXISTS', index], index)).toBe(0)
    })

    it('moves the entry when apply files a session under another user, and drops it when apply unfiles it', async () => {
      const store = setup.store()
      const id = await store.create({ ...record({}), owner: owner('u1') }, MINUTE)
      expect(await store.apply(id, changes({ owner: owner('u2') }), MINUTE)).toBe(id)
      expect(await setup.open.raw(['EXISTS', indexIn(store.prefix, 'u1')], indexIn(store.prefix, 'u1'))).toBe(0)
      expect((await store.listByUser('u2')).map((entry) => entry.handle)).toEqual(['handle-of-u2'])
      expect(await store.apply(id, changes({ owner: null }), MINUTE)).toBe(id)
      expect(await setup.open.raw(['EXISTS', indexIn(store.prefix, 'u2')], indexIn(store.prefix, 'u2'))).toBe(0)
    })

    it("lists a renewed session whose entry still names its old key, and repoints the entry (the renew's index update was lost)", async () => {
      const store = setup.store()
      const id = await store.create({ ...record({}), owner: owner('u1') }, MINUTE)
      const renewed = (await store.renew(id, changes(), MINUTE)) as string
      const index = indexIn(store.prefix, 'u1')
      const oldRef = setup.keyOf(store, id).slice(store.prefix.length)
      await setup.open.raw(['HSET', index, 'h:handle-of-u1', oldRef], index)
      expect((await store.listByUser('u1')).map((entry) => entry.handle)).toEqual(['handle-of-u1'])
      expect(await setup.open.raw(['HGET', index, 'h:handle-of-u1'], index)).toBe(setup.keyOf(store, renewed).slice(store.prefix.length))
    })

    it('drops entries whose record expired or is filed under someone else, and never revokes through them', async () => {
      const store = setup.store()
      const gone = await store.create({ ...record({}), owner: owner('u1', 'h-gone') }, MINUTE)
      const moved = await store.create({ ...record({}), owner: owner('u1', 'h-moved') }, MINUTE)
      const index = indexIn(store.prefix, 'u1')
      // The record expired (Redis says nothing), and one was filed under u2 while u1's entry stayed.
      await setup.open.raw(['DEL', setup.keyOf(store, gone)], setup.keyOf(store, gone))
      await store.apply(moved, changes({ owner: owner('u2', 'h-moved') }), MINUTE)
      await setup.open.raw(['HSET', index, 'h:h-moved', setup.keyOf(store, moved).slice(store.prefix.length)], index)
      expect(await store.revokeByUser('u1', {})).toBe(0)
      expect((await store.load(moved))?.owner).toEqual(owner('u2', 'h-moved'))
      await setup.open.raw(['HSET', index, 'h:h-moved', setup.keyOf(store, moved).slice(store.prefix.length)], index)
      expect(await store.listByUser('u1')).toEqual([])
      expect(await setup.open.raw(['EXISTS', index], index)).toBe(0)
    })

    it('reports expiresAt as the record\'s own expiry, capped by its absolute one', async () => {
      const store = setup.store()
      const cap = Date.now() + 30_000
      await store.create({ ...record({}, cap), owner: owner('u1') }, 10 * MINUTE)
      const [entry] = await store.listByUser('u1')
      expect(entry?.expiresAt).toBe(cap)
    })

    it('sweeps the index of a user who never lists, once it holds 32 entries', async () => {
      const store = setup.store()
      const index = indexIn(store.prefix, 'u1')
      const ids = await Promise.all(Array.from({ length: 31 }, (_, i) => store.create({ ...record({}), owner: owner('u1', `h-${i}`) }, MINUTE)))
      // Their sessions ended by expiry, which tells nobody.
      for (const id of ids) await setup.open.raw(['DEL', setup.keyOf(store, id)], setup.keyOf(store, id))
      expect(await setup.open.raw(['HLEN', index], index)).toBe(31)
      await store.create({ ...record({}), owner: owner('u1', 'h-live') }, MINUTE)
      await vi.waitFor(async () => expect(await setup.open.raw(['HKEYS', index], index)).toEqual(['h:h-live']), { timeout: 5000, interval: 50 })
    })
  })

  describe('revocation list', () => {
    it('keeps a mark as long as asked, and for good with a null ttl', async () => {
      const store = setup.store()
      const list = store.revocationList()
      await list.set('u1', { before: 1 }, MINUTE)
      const key = `${store.prefix}r:{${createHash('sha256').update('u1').digest('base64url')}}`
      const pttl = Number(await setup.open.raw(['PTTL', key], key))
      expect(pttl).toBeGreaterThan(MINUTE - 2000)
      expect(pttl).toBeLessThanOrEqual(MINUTE)
      await list.set('u1', { before: 2 }, null)
      expect(Number(await setup.open.raw(['PTTL', key], key))).toBe(-1)
      expect(await list.get('u1')).toEqual({ before: 2 })
    })

    it('reads a value it did not write as no mark', async () => {
      const store = setup.store()
      const list = store.revocationList()
      const key = `${store.prefix}r:{${createHash('sha256').update('u1').digest('base64url')}}`
      for (const value of ['not json', '{"b":"soon"}', '[]', 'null']) {
        await setup.open.raw(['SET', key, value], key)
        expect(await list.get('u1')).toBeNull()
      }
      await setup.open.raw(['DEL', key], key)
      await setup.open.raw(['HSET', key, 'b', '1'], key)
      expect(await list.get('u1')).toBeNull()
    })
  })

  describe('ids and layout', () => {
    it('issues ids of the form <tag>.<43 base64url chars> with a 6-8 character tag', async () => {
      const id = await setup.store().create(record({ a: 1 }), MINUTE)
      expect(id).toMatch(/^[A-Za-z0-9_-]{6,8}\.[A-Za-z0-9_-]{43}$/)
    })

    it('keeps the lineage tag across renew, so both keys share a cluster slot', async () => {
      const store = setup.store()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const renewed = (await store.renew(id, changes(), MINUTE)) as string
      expect(renewed.split('.')[0]).toBe(id.split('.')[0])
      expect(renewed).not.toBe(id)
    })

    it('files a session as one hash at <prefix>{<tag>}<sha256(id)>, data under d: and metadata under m:', async () => {
      const store = setup.store()
      const created = Date.now() - 10
      const id = await store.create({ data: { 'm:created': 'user', x: [1] }, createdAt: created, absoluteExpiresAt: created + MINUTE }, MINUTE)
      const key = setup.keyOf(store, id)
      expect(await setup.open.raw(['TYPE', key], key)).toBe('hash')
      const fields = (await setup.open.raw(['HKEYS', key], key)) as string[]
      expect(fields.sort()).toEqual(['d:m:created', 'd:x', 'm:abs', 'm:created'])
      expect(await setup.open.raw(['HGET', key, 'm:created'], key)).toBe(String(created))
      expect((await store.load(id))?.data).toEqual({ 'm:created': 'user', x: [1] })
    })

    it('holds no 17-character piece of a raw id in the backend after create, apply and renew', async () => {
      const store = setup.store()
      const id = await store.create(record({ user: 'ferris' }), MINUTE)
      await store.apply(id, changes({ set: { n: 1 } }), MINUTE)
      const renewed = (await store.renew(id, changes({ set: { n: 2 } }), MINUTE)) as string
      const dump = await setup.dump(store)
      expect(dump).toContain('ferris')
      for (const raw of [id, renewed]) {
        for (let i = 0; i + 17 <= raw.length; i++) expect(dump).not.toContain(raw.slice(i, i + 17))
      }
    })

    it('answers ids it could not have issued as unknown ones (EXPIRED, writing nothing), and GONE once deleted', async () => {
      const store = setup.store()
      const odd = ['', 'nope', 'a.b', '{x}.aaaaaaaaaaaaaaaaaaaaaaaaaaa', `abcdef.${'x'.repeat(200)}`]
      for (const id of odd) {
        expect(await store.load(id)).toBeNull()
        expect(await store.apply(id, changes({ set: { a: 1 } }), MINUTE)).toBe(EXPIRED)
        expect(await store.touch(id, MINUTE)).toBe(EXPIRED)
        expect(await store.renew(id, changes(), MINUTE)).toBe(EXPIRED)
      }
      expect(await setup.dump(store)).toBe('')
      for (const id of odd) {
        await store.delete(id)
        expect(await store.apply(id, changes({ set: { a: 1 } }), MINUTE)).toBe(GONE)
      }
      const dump = await setup.dump(store)
      expect(onlyPurgeMarkers(dump)).toBe(true)
      expect(dump.split('\n')).toHaveLength(odd.length)
    })
  })

  describe('expiry by the server clock', () => {
    it('sets the key TTL to the ttl given', async () => {
      const store = setup.store()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const key = setup.keyOf(store, id)
      const pttl = Number(await setup.open.raw(['PTTL', key], key))
      expect(pttl).toBeGreaterThan(MINUTE - 2000)
      expect(pttl).toBeLessThanOrEqual(MINUTE)
    })

    it('caps the key TTL at absoluteExpiresAt on apply', async () => {
      const store = setup.store()
      const id = await store.create(record({ a: 1 }, Date.now() + 5000), 1000)
      await store.apply(id, changes({ set: { b: 1 } }), 10 * MINUTE)
      const key = setup.keyOf(store, id)
      const pttl = Number(await setup.open.raw(['PTTL', key], key))
      expect(pttl).toBeGreaterThan(3000)
      expect(pttl).toBeLessThanOrEqual(5000)
    })

    it('creates nothing loadable when absoluteExpiresAt has already passed', async () => {
      const store = setup.store()
      const id = await store.create(record({ a: 1 }, Date.now() - 1000), MINUTE)
      expect(await store.load(id)).toBeNull()
    })
  })

  describe('renew and the forwarding marker', () => {
    it('leaves under the old key only a marker naming the new key, alive for at most 60 s', async () => {
      const store = setup.store()
      const id = await store.create(record({ secret: 'x' }), MINUTE)
      const renewed = (await store.renew(id, changes(), MINUTE)) as string
      const oldKey = setup.keyOf(store, id)
      expect(await setup.open.raw(['HGETALL', oldKey], oldKey)).toEqual(['m:fwd', setup.keyOf(store, renewed)])
      const pttl = Number(await setup.open.raw(['PTTL', oldKey], oldKey))
      expect(pttl).toBeGreaterThan(55_000)
      expect(pttl).toBeLessThanOrEqual(60_000)
    })

    it('delete of the first id follows two renews in a row and ends the newest session', async () => {
      const store = setup.store()
      const first = await store.create(record({ a: 1 }), MINUTE)
      const second = (await store.renew(first, changes(), MINUTE)) as string
      const third = (await store.renew(second, changes(), MINUTE)) as string
      await store.delete(first)
      expect(await store.load(third)).toBeNull()
      const dump = await setup.dump(store)
      expect(onlyPurgeMarkers(dump)).toBe(true)
      expect(dump.split('\n')).toHaveLength(3)
    })

    it('delete leaves a purge marker living 60 s on every id of the chain it ended', async () => {
      const store = setup.store()
      const first = await store.create(record({ a: 1 }), 10 * MINUTE)
      const second = (await store.renew(first, changes(), 10 * MINUTE)) as string
      await store.delete(first)
      for (const id of [first, second]) {
        const key = setup.keyOf(store, id)
        expect(await setup.open.raw(['HGETALL', key], key)).toEqual(['m:gone', '1'])
        const pttl = Number(await setup.open.raw(['PTTL', key], key))
        expect(pttl).toBeGreaterThan(55_000)
        expect(pttl).toBeLessThanOrEqual(60_000)
      }
    })

    it('renew of an old id after a renew answers RENEWED and forks nothing', async () => {
      const store = setup.store()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const renewed = (await store.renew(id, changes(), MINUTE)) as string
      expect(await store.renew(id, changes({ set: { fork: true } }), MINUTE)).toBe(RENEWED)
      expect((await store.load(renewed))?.data).toEqual({ a: 1 })
    })
  })

  describe('NX and collisions', () => {
    it('create retries with a new id when the first one is taken, leaving the existing record alone', async () => {
      const prefix = uniquePrefix()
      setup.prefixes.push(prefix)
      const plain = new RedisStore({ client: setup.open.client, prefix })
      const taken = await plain.create(record({ owner: 'first' }), MINUTE)
      let calls = 0
      class Colliding extends RedisStore {
        protected override newId(tag?: string): string {
          return calls++ === 0 ? taken : super.newId(tag)
        }
      }
      const colliding = new Colliding({ client: setup.open.client, prefix })
      const id = await colliding.create(record({ owner: 'second' }), MINUTE)
      expect(id).not.toBe(taken)
      expect(calls).toBe(2)
      expect((await plain.load(taken))?.data).toEqual({ owner: 'first' })
      expect((await plain.load(id))?.data).toEqual({ owner: 'second' })
    })

    it('renew retries with a new id when the first one is taken, overwriting nothing', async () => {
      const prefix = uniquePrefix()
      setup.prefixes.push(prefix)
      const plain = new RedisStore({ client: setup.open.client, prefix })
      const id = await plain.create(record({ who: 'renewing' }), MINUTE)
      // A record already filed under the id renew will try first (same lineage tag).
      const victim = `${id.split('.')[0]}.${'v'.repeat(43)}`
      class Fixed extends RedisStore {
        protected override newId(): string {
          return victim
        }
      }
      expect(await new Fixed({ client: setup.open.client, prefix }).create(record({ who: 'victim' }), MINUTE)).toBe(victim)
      let tries = 0
      class OnceColliding extends RedisStore {
        protected override newId(tag?: string): string {
          return tries++ === 0 ? victim : super.newId(tag)
        }
      }
      const renewed = (await new OnceColliding({ client: setup.open.client, prefix }).renew(id, changes(), MINUTE)) as string
      expect(tries).toBe(2)
      expect(renewed).not.toBe(victim)
      expect((await plain.load(victim))?.data).toEqual({ who: 'victim' })
      expect((await plain.load(renewed))?.data).toEqual({ who: 'renewing' })
    })

    it('gives 1,000 parallel creates 1,000 distinct ids that all load', async () => {
      const store = setup.store()
      const ids = await Promise.all(Array.from({ length: 1000 }, (_, i) => store.create(record({ i }), MINUTE)))
      expect(new Set(ids).size).toBe(1000)
      const loaded = await Promise.all(ids.map((id) => store.load(id)))
      expect(loaded.map((r) => r?.data['i'])).toEqual(ids.map((_, i) => i))
    })
  })

  describe('races between requests (store level)', () => {
    it('two concurrent applies changing different keys both land', async () => {
      const store = setup.store()
      const id = await store.create(record({ base: 0 }), MINUTE)
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.apply(id, changes({ set: { [`k${i}`]: i } }), MINUTE)),
      )
      expect(results.every((r) => r === id)).toBe(true)
      const data = (await store.load(id))?.data ?? {}
      expect(Object.keys(data)).toHaveLength(51)
      expect(data['k49']).toBe(49)
    })

    it('purge wins: load, delete through a second client, then apply returns GONE and recreates nothing', async () => {
      const store = setup.store()
      const other = await openClient(kind, ports())
      try {
        const second = new RedisStore({ client: other.client, prefix: store.prefix })
        const id = await store.create(record({ cart: [1] }), MINUTE)
        expect(await store.load(id)).not.toBeNull()
        await second.delete(id)
        expect(await store.apply(id, changes({ set: { cart: [1, 2] } }), MINUTE)).toBe(GONE)
        expect(await store.touch(id, MINUTE)).toBe(GONE)
        expect(await store.renew(id, changes(), MINUTE)).toBe(GONE)
        expect(onlyPurgeMarkers(await setup.dump(store))).toBe(true)
      } finally {
        await other.close()
      }
    })

    it('a purge racing a renew ends the session whichever lands first', async () => {
      const store = setup.store()
      for (let round = 0; round < 20; round++) {
        const id = await store.create(record({ round }), MINUTE)
        const [renewed] = await Promise.all([store.renew(id, changes({ set: { late: true } }), MINUTE), store.delete(id)])
        if (typeof renewed === 'string') expect(await store.load(renewed)).toBeNull()
      }
      expect(onlyPurgeMarkers(await setup.dump(store))).toBe(true)
    })
  })

  describe('big and odd data', () => {
    it('creates, applies and clears a session of 10,000 keys (chunked HSET/HDEL)', async () => {
      const store = setup.store()
      const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`key${i}`, i]))
      const id = await store.create(record(many), MINUTE)
      expect(Object.keys((await store.load(id))?.data ?? {})).toHaveLength(10_000)
      const next = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`new${i}`, { i }]))
      const removed = Array.from({ length: 10_000 }, (_, i) => `key${i}`)
      expect(await store.apply(id, changes({ set: next, remove: removed }), MINUTE)).toBe(id)
      const data = (await store.load(id))?.data ?? {}
      expect(Object.keys(data)).toHaveLength(10_000)
      expect(data['new9999']).toEqual({ i: 9999 })
      expect(await store.apply(id, changes({ clear: true }), MINUTE)).toBe(id)
      expect((await store.load(id))?.data).toEqual({})
    })

    it('loads a hash holding unparsable JSON as null instead of throwing', async () => {
      const store = setup.store()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const key = setup.keyOf(store, id)
      await setup.open.raw(['HSET', key, 'd:a', '{not json'], key)
      expect(await store.load(id)).toBeNull()
    })

    it('treats a non-hash value under a session key as absent (EXPIRED), and delete replaces it with a purge marker', async () => {
      const store = setup.store()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const key = setup.keyOf(store, id)
      await setup.open.raw(['SET', key, 'not a hash'], key)
      expect(await store.load(id)).toBeNull()
      expect(await store.apply(id, changes({ set: { a: 2 } }), MINUTE)).toBe(EXPIRED)
      await store.delete(id)
      expect(await setup.open.raw(['HGETALL', key], key)).toEqual(['m:gone', '1'])
      expect(await store.apply(id, changes({ set: { a: 2 } }), MINUTE)).toBe(GONE)
    })
  })

  // The shared standalone server's script cache is left alone; redis-failures.test.ts flushes its own.
  describe.runIf(kind.endsWith('cluster'))('script cache', () => {
    it('recovers from NOSCRIPT after SCRIPT FLUSH on every node', async () => {
      const store = setup.store()
      const id = await store.create(record({ n: 0 }), MINUTE)
      await onEachNode(ports(), (node) => node.sendCommand(['SCRIPT', 'FLUSH']))
      expect(await store.apply(id, changes({ set: { n: 1 } }), MINUTE)).toBe(id)
      expect(await store.touch(id, MINUTE)).toBe(id)
      expect((await store.load(id))?.data).toEqual({ n: 1 })
    })
  })
}

describe('RedisStore on 127.0.0.1:6379', () => {
  if (!requireService(standaloneUp, 'Redis at 127.0.0.1:6379')) return
  for (const kind of ['node-redis', 'ioredis'] as const) {
    describe(kind, () => defineRedisStoreTests(kind, () => [6379]))
  }

  it("works under ioredis' keyPrefix: the marker names the key as Redis sees it, so delete still follows it", async () => {
    const client = new Redis({ host: '127.0.0.1', port: 6379, keyPrefix: 'kp-' })
    client.on('error', () => {})
    const prefix = uniquePrefix()
    try {
      const store = new RedisStore({ client, prefix })
      const id = await store.create(record({ a: 1 }), MINUTE)
      const renewed = (await store.renew(id, changes({ set: { b: 2 } }), MINUTE)) as string
      expect((await store.load(renewed))?.data).toEqual({ a: 1, b: 2 })
      expect(await dumpPrefix([6379], `kp-${prefix}`)).toContain('"m:fwd","kp-')
      await store.delete(id)
      expect(await store.load(renewed)).toBeNull()
      expect(await store.apply(renewed, changes(), MINUTE)).toBe(GONE)
      const dump = await dumpPrefix([6379], `kp-${prefix}`)
      expect(onlyPurgeMarkers(dump)).toBe(true)
      expect(dump.split('\n')).toHaveLength(2)
    } finally {
      await deletePrefix([6379], `kp-${prefix}`)
      client.disconnect()
    }
  })

  it("lists and revokes a user's sessions under ioredis' keyPrefix, following a renew's marker", async () => {
    const client = new Redis({ host: '127.0.0.1', port: 6379, keyPrefix: 'kp-' })
    client.on('error', () => {})
    const prefix = uniquePrefix()
    try {
      const store = new RedisStore({ client, prefix })
      const id = await store.create({ ...record({}), owner: owner('u1') }, MINUTE)
      const renewed = (await store.renew(id, changes(), MINUTE)) as string
      // As if the renew's index update had been lost: the entry names the old key.
      await client.hset(indexIn(prefix, 'u1'), 'h:handle-of-u1', keyIn(prefix, id).slice(prefix.length))
      expect((await store.listByUser('u1')).map((entry) => entry.handle)).toEqual(['handle-of-u1'])
      expect(await client.hget(indexIn(prefix, 'u1'), 'h:handle-of-u1')).toBe(keyIn(prefix, renewed).slice(prefix.length))
      expect(await store.revokeByUser('u1', {})).toBe(1)
      expect(await store.load(renewed)).toBeNull()
      // No record and no index left: a purge marker on the session's key, the old key's forwarding marker.
      const dump = await dumpPrefix([6379], `kp-${prefix}`)
      expect(dump).not.toContain('m:created')
      expect(dump.split('\n')).toHaveLength(2)
    } finally {
      await deletePrefix([6379], `kp-${prefix}`)
      client.disconnect()
    }
  })
})

describe('RedisStore on a three-master Redis Cluster', () => {
  if (!requireService(serverBinary, 'redis-server (to start a cluster)')) return
  let cluster: RedisCluster | undefined
  beforeAll(async () => {
    cluster = await startRedisCluster(3)
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })
  const ports = () => {
    if (!cluster) throw new Error('the cluster did not start')
    return cluster.ports
  }
  for (const kind of ['node-redis-cluster', 'ioredis-cluster'] as const) {
    describe(kind, () => defineRedisStoreTests(kind, ports))
  }

  it('spreads sessions over all three masters', async () => {
    const open = await openClient('ioredis-cluster', ports())
    const prefix = uniquePrefix()
    try {
      const store = new RedisStore({ client: open.client, prefix })
      await Promise.all(Array.from({ length: 60 }, () => store.create(record({ a: 1 }), MINUTE)))
      const counts = await onEachNode(ports(), async (node) => {
        const [, keys] = (await node.sendCommand(['SCAN', '0', 'MATCH', `${prefix}*`, 'COUNT', '10000'])) as [string, string[]]
        return keys.length
      })
      expect(counts.every((n) => n > 0)).toBe(true)
    } finally {
      await deletePrefix(ports(), prefix)
      await open.close()
    }
  })

  // Last in the file: it hands a slot to another master for good.
  for (const kind of ['node-redis-cluster', 'ioredis-cluster'] as const) {
    it(`${kind}: a logout while the renewed record's slot migrates changes nothing, and ends both ids once the slot has moved`, async () => {
      const open = await openClient(kind, ports())
      const prefix = uniquePrefix()
      const store = new RedisStore({ client: open.client, prefix, timeoutMs: 1000 })
      const id = await store.create(record({ user: 'ferris' }), MINUTE)
      const renewed = (await store.renew(id, changes(), MINUTE)) as string
      const oldKey = keyIn(prefix, id)
      const newKey = keyIn(prefix, renewed)
      const migration = await beginSlotMigration(ports(), oldKey)
      try {
        // Mid-reshard: the renewed record has reached the new master, its forwarding marker has not.
        expect(await migration.move(newKey)).toBe('OK')
        const outcome = await store.delete(id).then(
          () => 'resolved',
          (error: unknown) => error,
        )
        expect(outcome).toBeInstanceOf(StoreError)
        expect(await migration.onSource(['HGETALL', oldKey])).toEqual(['m:fwd', newKey])
        const stillThere = (await migration.onTarget(['HGETALL', newKey])) as string[]
        expect(stillThere).toContain('m:created')

        await migration.finish()
        await store.delete(id)
        expect(await store.load(renewed)).toBeNull()
        expect(await store.apply(renewed, changes({ set: { back: true } }), MINUTE)).toBe(GONE)
        expect(await store.apply(id, changes({ set: { back: true } }), MINUTE)).toBe(GONE)
      } finally {
        await migration.finish()
        await deletePrefix(ports(), prefix)
        await open.close()
      }
    }, 30_000)
  }
})
