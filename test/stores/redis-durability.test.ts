import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import type { SessionRecord } from '../../src/core/store.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import type { RedisDurability } from '../../src/stores/redis/index.js'
import { storageKey } from '../../src/stores/shared/ids.js'
import { waitFor } from '../support/poll.js'
import { changes, failure, keyIn, onNode, record } from '../support/redis-store-calls.js'
import { openClient, uniquePrefix } from '../support/redis-clients.js'
import type { OpenClient } from '../support/redis-clients.js'
import { caughtUp, clusterNodes, ownerOf, startRedisCluster } from '../support/redis-cluster.js'
import type { RedisCluster } from '../support/redis-cluster.js'
import { hasRedisServer, startRedisServer } from '../support/redis-process.js'
import type { RedisProcess } from '../support/redis-process.js'

// RedisStore's `durability`: after delete, revoke and renew, WAIT until replicas have the change;
// otherwise fail (or warn). Replicas here are real redis-server processes; a replica that falls
// behind is one stopped with SIGSTOP, and the replication gap of a failover is a replica cut off
// (SIGSTOP, then CLIENT KILL TYPE replica on its master) whose master then dies.

const CI = process.env.CI === 'true'
const MINUTE = 60_000
const WAIT_MS = 150

async function waitCalls(port: number): Promise<number> {
  const info = String(await onNode(port, ['INFO', 'commandstats']))
  return Number(/^cmdstat_wait:calls=(\d+)/m.exec(info)?.[1] ?? 0)
}

describe('RedisStore durability', () => {
  if (!hasRedisServer()) {
    if (CI) it('redis-server is available (required when CI=true)', () => expect.fail('redis-server is missing'))
    else console.warn('\n!!! SKIPPING the RedisStore durability tests: redis-server is missing\n')
    return
  }
  const clients: OpenClient[] = []
  const servers: RedisProcess[] = []
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled)
  })
  afterEach(() => {
    expect(unhandled.splice(0)).toEqual([])
  })
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled)
    for (const client of clients) await client.close().catch(() => {})
    for (const server of servers) await server.stop()
  })
  /** A master and one replica of it, caught up. */
  const pair = async () => {
    const master = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] })
    servers.push(master)
    const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] })
    servers.push(replica)
    await waitFor('the replica to connect', () => caughtUp(master.port, 1))
    return { master, replica }
  }

  it('refuses a durability it cannot honour with a ConfigError that names the fix', async () => {
    const { master } = await pair()
    const open = await openClient('node-redis', [master.port])
    clients.push(open)
    const make = (durability: unknown, timeoutMs = 1000) =>
      () => new RedisStore({ client: open.client, timeoutMs, durability: durability as RedisDurability })
    expect(make({ replicas: 0, timeoutMs: 100 })).toThrow(/durability.replicas must be a whole number of replicas, at least 1/)
    expect(make({ replicas: 1.5, timeoutMs: 100 })).toThrow(ConfigError)
    expect(make({ replicas: 1, timeoutMs: 1000 })).toThrow(/durability.timeoutMs .* below the store's timeoutMs \(1000\)/)
    expect(make({ replicas: 1, timeoutMs: 0 })).toThrow(ConfigError)
    expect(make({ replicas: 1, timeoutMs: 100, onShortfall: 'ignore' })).toThrow(/onShortfall must be 'fail' or 'warn'/)
    expect(make({ replicas: 1, timeoutMs: 100, onShortfall: 'warn', warn: 'console' })).toThrow(/warn must be a function/)
    expect(make({ replicas: 1, timeoutMs: 100 })).not.toThrow()
  })

  for (const kind of ['node-redis', 'ioredis'] as const) {
    describe(kind, () => {
      it('acknowledges a logout and a renew once the replica has them: one WAIT each, and the replica holds the purge marker', async () => {
        const { master, replica } = await pair()
        const open = await openClient(kind, [master.port])
        clients.push(open)
        // A healthy replica acknowledges at once; the generous bound only keeps a loaded machine from failing the WAIT.
        const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), timeoutMs: 10_000, durability: { replicas: 1, timeoutMs: 5000 } })
        const id = await store.create(record({ n: 1 }), MINUTE)
        const before = await waitCalls(master.port)
        const renewed = (await store.renew(id, changes({ set: { n: 2 } }), MINUTE)) as string
        expect(await onNode(replica.port, ['HGET', keyIn(store.prefix, renewed), 'd:n'])).toBe('2')
        await store.delete(renewed)
        expect(await onNode(replica.port, ['HGETALL', keyIn(store.prefix, renewed)])).toEqual(['m:gone', '1'])
        expect(await waitCalls(master.port)).toBe(before + 2)
        // create, apply and load wait for nothing.
        const other = await store.create(record({ n: 1 }), MINUTE)
        await store.apply(other, changes({ set: { n: 3 } }), MINUTE)
        await store.load(other)
        expect(await waitCalls(master.port)).toBe(before + 2)
      })

      it('with a replica behind, fails the logout, the revoke and the renew ("unavailable", after durability.timeoutMs), or warns and succeeds', async () => {
        const { master, replica } = await pair()
        const open = await openClient(kind, [master.port])
        clients.push(open)
        const strict = new RedisStore({ client: open.client, prefix: uniquePrefix(), durability: { replicas: 1, timeoutMs: WAIT_MS } })
        const warnings: string[] = []
        const lenient = new RedisStore({
          client: open.client,
          prefix: uniquePrefix(),
          durability: { replicas: 1, timeoutMs: WAIT_MS, onShortfall: 'warn', warn: (message) => warnings.push(message) },
        })
        const ids = [await strict.create(record({ n: 1 }), MINUTE), await strict.create(record({ n: 1 }), MINUTE), await lenient.create(record({ n: 1 }), MINUTE)]
        const filed: SessionRecord = { ...record({ n: 1 }), owner: { userId: 'ferris', handle: 'h1', lastSeenAt: Date.now(), info: {} } }
        await strict.create(filed, MINUTE)
        replica.signal('SIGSTOP')
        try {
          const started = Date.now()
          const logout = await failure(strict.delete(ids[0] as string))
          expect(Date.now() - started).toBeGreaterThanOrEqual(WAIT_MS - 5)
          expect(logout.kind).toBe('unavailable')
          expect(logout.message).toContain('delete is not durable: 0 of 1 replicas acknowledged it within 150 ms')
          const renew = await failure(strict.renew(ids[1] as string, changes(), MINUTE))
          expect(renew.kind).toBe('unavailable')
          expect(renew.message).toContain('renew is not durable')
          const revoke = await failure(strict.revokeByUser('ferris', { except: 'none' }))
          expect(revoke.message).toContain('revokeByUser is not durable')
          await lenient.delete(ids[2] as string)
          expect(warnings).toHaveLength(1)
          expect(warnings[0]).toContain('delete is not durable')
          for (const id of ids) expect(warnings[0]).not.toContain(storageKey(id))
        } finally {
          replica.signal('SIGCONT')
        }
        // The master did end it: only the acknowledgement was missing.
        expect(await strict.load(ids[0] as string)).toBeNull()
      })

      it('closes the replication gap: a failover to a replica cut off loses an acknowledged logout without durability, never with it', async () => {
        const { master, replica } = await pair()
        const open = await openClient(kind, [master.port])
        clients.push(open)
        const prefix = uniquePrefix()
        const plain = new RedisStore({ client: open.client, prefix })
        const durable = new RedisStore({ client: open.client, prefix, durability: { replicas: 1, timeoutMs: WAIT_MS } })
        const [a, b] = [await plain.create(record({ who: 'a' }), MINUTE), await plain.create(record({ who: 'b' }), MINUTE)]
        await waitFor('the replica to have both sessions', () => caughtUp(master.port, 1))
        // Cut the replica off: stopped, and its link closed, so nothing written now reaches it.
        replica.signal('SIGSTOP')
        await onNode(master.port, ['CLIENT', 'KILL', 'TYPE', 'replica'])
        await plain.delete(a as string)
        const refused = await failure(durable.delete(b as string))
        expect(refused.kind).toBe('unavailable')
        await master.kill()
        replica.signal('SIGCONT')
        await onNode(replica.port, ['REPLICAOF', 'NO', 'ONE'])
        const promoted = await openClient(kind, [replica.port])
        clients.push(promoted)
        const after = new RedisStore({ client: promoted.client, prefix })
        // The acknowledged plain logout is undone: the documented window of asynchronous replication.
        expect((await after.load(a as string))?.data).toEqual({ who: 'a' })
        // The durable logout was never acknowledged: its caller was told it failed.
        expect((await after.load(b as string))?.data).toEqual({ who: 'b' })
        await after.delete(b as string)
        expect(await after.load(b as string)).toBeNull()
      })
    })
  }

  describe('on a Redis Cluster with replicas', () => {
    let cluster: RedisCluster | undefined
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 5000 })
    }, 60_000)
    afterAll(async () => {
      await cluster?.stop()
    })

    for (const kind of ['node-redis-cluster', 'ioredis-cluster'] as const) {
      it(`${kind}: waits on the master that holds the session, so a replica behind elsewhere does not matter`, async () => {
        if (!cluster) throw new Error('the cluster did not start')
        const open = await openClient(kind, cluster.ports)
        clients.push(open)
        const store = new RedisStore({ client: open.client, prefix: uniquePrefix(), durability: { replicas: 1, timeoutMs: 1000 } })
        const nodes = await clusterNodes(cluster.ports[0] as number)
        const stalled = cluster.ports[0] as number
        const stalledReplica = nodes.find((node) => node.masterId === nodes.find((m) => m.port === stalled)?.id)?.port
        if (stalledReplica === undefined) throw new Error('no replica found')
        // One session on the master whose replica stalls, one elsewhere.
        let here: string | undefined
        let elsewhere: string | undefined
        while (here === undefined || elsewhere === undefined) {
          const id = await store.create(record({ n: 1 }), MINUTE)
          if ((await ownerOf(stalled, keyIn(store.prefix, id))) === stalled) here ??= id
          else elsewhere ??= id
        }
        cluster.node(stalledReplica).signal('SIGSTOP')
        try {
          expect((await failure(store.delete(here))).kind).toBe('unavailable')
          await store.delete(elsewhere)
        } finally {
          cluster.node(stalledReplica).signal('SIGCONT')
        }
        expect(await store.load(elsewhere)).toBeNull()
      })
    }
  })
})
