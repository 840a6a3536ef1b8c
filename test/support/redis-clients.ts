import { randomUUID } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
import { createClient, createCluster } from 'redis'
import type { RedisClientLike } from '../../src/stores/redis/client.js'
import { toCommander } from '../../src/stores/redis/client.js'

/** The four client kinds RedisStore supports. */
export type RedisClientKind = 'node-redis' | 'ioredis' | 'node-redis-cluster' | 'ioredis-cluster'

/** A connected client of one kind, plus what tests need to look behind the store. */
export interface OpenClient {
  readonly kind: RedisClientKind
  readonly client: RedisClientLike
  /** Sends a raw command routed by `key` (any key for keyless commands in standalone mode). */
  raw(args: string[], key?: string): Promise<unknown>
  /** Ports of every master this client talks to, for per-node commands (SCAN, SCRIPT FLUSH). */
  readonly ports: number[]
  close(): Promise<void>
}

const ignore = () => {}

/**
 * Connects a client of `kind` to the Redis (or the cluster's masters) on `ports`. Every client gets
 * an `error` listener: without one, node-redis' reconnect errors crash the process.
 *
 * @example
 * ```ts
 * const open = await openClient('ioredis', [6379])
 * await open.raw(['PING'])
 * ```
 */
export async function openClient(kind: RedisClientKind, ports: number[]): Promise<OpenClient> {
  const first = ports[0] as number
  let client: RedisClientLike
  let close: () => Promise<void>
  switch (kind) {
    case 'node-redis': {
      const c = await createClient({ url: `redis://127.0.0.1:${first}` }).on('error', ignore).connect()
      client = c
      close = () => c.close()
      break
    }
    case 'node-redis-cluster': {
      const c = await createCluster({ rootNodes: ports.map((p) => ({ url: `redis://127.0.0.1:${p}` })) })
        .on('error', ignore)
        .connect()
      client = c
      close = () => c.close()
      break
    }
    case 'ioredis': {
      const c = new Redis({ host: '127.0.0.1', port: first, lazyConnect: true })
      c.on('error', ignore)
      await c.connect()
      client = c
      close = async () => c.disconnect()
      break
    }
    case 'ioredis-cluster': {
      const c = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { lazyConnect: true })
      c.on('error', ignore)
      await c.connect()
      client = c
      close = async () => c.disconnect()
      break
    }
  }
  const commander = toCommander(client)
  return {
    kind,
    client,
    ports,
    raw: (args, key = 'any') => commander.send(args[0] as string, args.slice(1), key, false, Date.now() + 5000),
    close,
  }
}

/**
 * Runs `fn` with a plain node-redis client on each port (one per master), then closes them.
 *
 * @example
 * ```ts
 * await onEachNode([6379], (node) => node.sendCommand(['SCRIPT', 'FLUSH']))
 * ```
 */
export async function onEachNode<T>(
  ports: number[],
  fn: (node: { sendCommand(args: string[]): Promise<unknown> }) => Promise<T>,
): Promise<T[]> {
  const nodes = await Promise.all(ports.map((p) => createClient({ url: `redis://127.0.0.1:${p}` }).on('error', ignore).connect()))
  try {
    return await Promise.all(nodes.map((node) => fn({ sendCommand: (args) => node.sendCommand(args) })))
  } finally {
    await Promise.all(nodes.map((node) => node.close()))
  }
}

/**
 * Every key under `prefix` on every node, with its type, its TTL and its contents, as text: what
 * the backend holds for one store.
 *
 * @example
 * ```ts
 * const text = await dumpPrefix([6379], 'test:abc:')
 * ```
 */
export async function dumpPrefix(ports: number[], prefix: string): Promise<string> {
  const lines = await onEachNode(ports, async (node) => {
    const out: string[] = []
    let cursor = '0'
    do {
      const [next, keys] = (await node.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [string, string[]]
      cursor = next
      for (const key of keys) {
        const type = String(await node.sendCommand(['TYPE', key]))
        const ttl = String(await node.sendCommand(['PTTL', key]))
        const body = type === 'hash' ? await node.sendCommand(['HGETALL', key]) : await node.sendCommand(['DUMP', key])
        out.push(`${key} ${type} ${ttl} ${JSON.stringify(body)}`)
      }
    } while (cursor !== '0')
    return out
  })
  // TTLs move between two dumps; keep them out of the comparison text but leave the rest.
  return lines
    .flat()
    .map((line) => line.replace(/ (hash|string|none) -?\d+ /, ' $1 '))
    .sort()
    .join('\n')
}

/**
 * Deletes every key under `prefix` (or under any of several prefixes) on every node: test cleanup
 * on a shared server. One scan per node for all the prefixes, and each batch's deletes pipelined, so
 * cleaning up after a hundred stores stays well inside a hook's timeout on a busy machine.
 *
 * @example
 * ```ts
 * afterAll(() => deletePrefix([6379], prefix))
 * ```
 */
export async function deletePrefix(ports: number[], prefix: string | readonly string[]): Promise<void> {
  const prefixes = typeof prefix === 'string' ? [prefix] : prefix
  if (prefixes.length === 0) return
  // The prefixes' common start narrows the scan (test prefixes hold no glob characters).
  let common = prefixes[0]!
  for (const other of prefixes) while (!other.startsWith(common)) common = common.slice(0, -1)
  await onEachNode(ports, async (node) => {
    let cursor = '0'
    do {
      const [next, keys] = (await node.sendCommand(['SCAN', cursor, 'MATCH', `${common}*`, 'COUNT', '1000'])) as [string, string[]]
      cursor = next
      const ours = keys.filter((key) => prefixes.some((p) => key.startsWith(p)))
      await Promise.all(ours.map((key) => node.sendCommand(['DEL', key])))
    } while (cursor !== '0')
  })
}

/**
 * A prefix no other test uses.
 *
 * @example
 * ```ts
 * new RedisStore({ client, prefix: uniquePrefix() })
 * ```
 */
export function uniquePrefix(): string {
  return `cloakroom-test:${randomUUID()}:`
}

/**
 * Ends the window of every forwarding and purge marker under `prefix`, on every node, as if 60 s
 * had passed: the marker keys are deleted (what their TTL does), and records are left alone.
 *
 * @example
 * ```ts
 * defineStoreConformance({ ..., expireMarkers: (store) => expireMarkers([6379], (store as RedisStore).prefix) })
 * ```
 */
export async function expireMarkers(ports: number[], prefix: string): Promise<void> {
  await onEachNode(ports, async (node) => {
    let cursor = '0'
    do {
      const [next, keys] = (await node.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000', 'TYPE', 'hash'])) as [string, string[]]
      cursor = next
      for (const key of keys) {
        const [forward, purged] = (await node.sendCommand(['HMGET', key, 'm:fwd', 'm:gone'])) as [unknown, unknown]
        if (forward !== null || purged !== null) await node.sendCommand(['DEL', key])
      }
    } while (cursor !== '0')
  })
}
