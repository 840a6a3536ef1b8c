import { ConfigError } from '../../core/errors.js'
import { watchCluster } from './cluster-watch.js'
import { nodeDrops } from './node-drops.js'
import { keySlot } from './slot.js'

/**
 * A node-redis v4/v5 client (`createClient()`), seen only through the members the store uses.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const client: NodeRedisClientLike = await createClient({ url: 'redis://127.0.0.1:6379' }).connect()
 * ```
 */
export interface NodeRedisClientLike {
  sendCommand(args: readonly string[], options?: { timeout?: number }): Promise<unknown>
  readonly isReady: boolean
}

/**
 * A node-redis v4/v5 cluster (`createCluster()`): its `sendCommand` takes the routing key first.
 *
 * @example
 * ```ts
 * import { createCluster } from 'redis'
 * const cluster: NodeRedisClusterLike = await createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:7000' }] }).connect()
 * ```
 */
export interface NodeRedisClusterLike {
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: { timeout?: number },
  ): Promise<unknown>
  readonly isOpen: boolean
  readonly masters: readonly unknown[]
  /** The driver's slot map (node-redis 4/5): each slot's master, whose `client` tells a dead node. */
  readonly slots?: readonly ({ master?: { client?: { isReady?: boolean } } } | undefined)[]
}

/**
 * An ioredis `Redis` or `Cluster`: both send raw commands through `call` and report a `status`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * const client: IoRedisLike = new Redis({ host: '127.0.0.1', port: 6379 })
 * ```
 */
export interface IoRedisLike {
  call(command: string, args: (string | number)[]): Promise<unknown>
  readonly status: string
  readonly isCluster: boolean
  /** A Cluster's slot map: each slot's nodes as `host:port`, its master first. */
  readonly slots?: readonly (readonly string[] | undefined)[]
  /** A Cluster's connections to its masters. */
  nodes?(role: 'master'): readonly IoRedisNode[]
}

/** One ioredis Cluster connection to a node. */
interface IoRedisNode {
  readonly status: string
  readonly options: { readonly host?: string; readonly port?: number }
  call(command: string, args: (string | number)[]): Promise<unknown>
}

/**
 * Any client `RedisStore` accepts: a node-redis client or cluster, or an ioredis `Redis` or `Cluster`.
 * The store tells them apart by shape, so it never imports a driver.
 *
 * @example
 * ```ts
 * const store = new RedisStore({ client: createClient() as RedisClientLike })
 * ```
 */
export type RedisClientLike = NodeRedisClientLike | NodeRedisClusterLike | IoRedisLike

/**
 * node-redis's per-command `timeout` is for a command that would wait in its offline queue: it is
 * dropped from there at the deadline instead of being sent after the store gave up. A connected
 * client writes the command at once, where the option could no longer withdraw it, and the store's
 * own deadline (`withDeadline`) answers the call; the option would only cost each command an
 * `AbortSignal.timeout` (a timer, an event listener and a finalizer), about a tenth of a Redis
 * `/counter`'s CPU in the benchmark's profile.
 */
function queueTimeout(connected: boolean, timeoutMs: number): { timeout: number } | undefined {
  return connected ? undefined : { timeout: timeoutMs }
}

/**
 * The one raw-command path the store uses, whatever the client.
 */
export interface RedisCommander {
  /** Which client kind this is, for messages and tests. */
  readonly kind: 'node-redis' | 'node-redis-cluster' | 'ioredis' | 'ioredis-cluster'
  /**
   * Sends one command. `key` routes it in a cluster; `timeoutMs` is passed to drivers that can drop a
   * command still waiting in their offline queue (node-redis), so it is not sent after we gave up.
   */
  send(command: string, args: string[], key: string, readonly: boolean, timeoutMs: number): Promise<unknown>
  /**
   * False while the client is known to be disconnected or reconnecting; given a key, while the
   * connection to the node that holds it is (a cluster node that died while the others live on).
   */
  connected(key?: string): boolean
  /**
   * Sends `WAIT replicas timeoutMs` on the connection that sends commands for `key` (the connection
   * whose writes it waits for), and answers how many replicas acknowledged them.
   */
  waitReplicas(key: string, replicas: number, timeoutMs: number, callTimeoutMs: number): Promise<unknown>
  /** Told when a call failed in a way a failover explains (timed out, connection lost, refused): a cluster client may have to look for a new master. */
  trouble?(): void
}

/**
 * Whether the ioredis Cluster connection to the master of `key`'s slot is up: false when it is not
 * ready, or gone from the pool (ioredis drops a node's connection when it ends); true when it
 * cannot tell.
 */
function ioNodeReady(client: IoRedisLike, key: string): boolean {
  const address = client.slots?.[keySlot(key)]?.[0]
  if (address === undefined || client.nodes === undefined) return true
  const node = ioMasterOf(client, key)
  return node !== undefined && node.status === 'ready'
}

/** The ioredis Cluster connection to the master of `key`'s slot, as its slot map says. */
function ioMasterOf(client: IoRedisLike, key: string): IoRedisNode | undefined {
  const address = client.slots?.[keySlot(key)]?.[0]
  if (address === undefined || client.nodes === undefined) return undefined
  return client.nodes('master').find(({ options }) => `${options.host ?? ''}:${options.port ?? ''}` === address)
}

function isNodeRedisCluster(client: RedisClientLike): client is NodeRedisClusterLike {
  return 'masters' in client && 'sendCommand' in client && !('call' in client)
}

function isIoRedis(client: RedisClientLike): client is IoRedisLike {
  return typeof (client as Partial<IoRedisLike>).call === 'function'
}

/**
 * Wraps any supported client in a {@link RedisCommander}, detecting its kind by shape.
 */
export function toCommander(client: RedisClientLike): RedisCommander {
  // ioredis also has a `sendCommand` (taking a Command object), so look for its `call` first.
  if (isIoRedis(client)) {
    const dropped = client.isCluster ? nodeDrops(client, ['-node', 'node error']) : () => false
    return {
      kind: client.isCluster ? 'ioredis-cluster' : 'ioredis',
      // ioredis routes EVAL/EVALSHA by their declared keys, so the key needs no separate mention.
      send: (command, args) => client.call(command, args),
      // WAIT names no key, so a Cluster would send it to any node: send it on the key's master's connection.
      waitReplicas: async (key, replicas, timeoutMs) => {
        const args = [String(replicas), String(timeoutMs)]
        if (!client.isCluster) return client.call('WAIT', args)
        const node = ioMasterOf(client, key)
        if (node === undefined) throw new Error('Connection is closed: no connection to the master of this slot')
        return node.call('WAIT', args)
      },
      connected: (key) => client.status === 'ready' && (key === undefined || (ioNodeReady(client, key) && !dropped())),
    }
  }
  if (isNodeRedisCluster(client)) {
    const watch = watchCluster(client)
    const dropped = nodeDrops(client, ['node-reconnecting', 'node-error'])
    const connected = (key?: string): boolean =>
      client.isOpen && (key === undefined || (client.slots?.[keySlot(key)]?.master?.client?.isReady !== false && !dropped()))
    return {
      kind: 'node-redis-cluster',
      trouble: () => watch?.trouble(),
      send: (command, args, key, readonly, timeoutMs) => {
        // A slot map read from a node that serves no master for a slot has a hole there, and
        // node-redis then fails with a TypeError: it is a slot without a master, which passes.
        if (client.slots !== undefined && client.slots[keySlot(key)] === undefined) {
          return Promise.reject(new Error('CLUSTERDOWN the client knows no master for this hash slot'))
        }
        return client.sendCommand(key, readonly, [command, ...args], queueTimeout(connected(key), timeoutMs))
      },
      // Routed by the key, so it goes on the connection the write went on.
      waitReplicas: (key, replicas, timeoutMs, callTimeoutMs) =>
        client.sendCommand(key, false, ['WAIT', String(replicas), String(timeoutMs)], { timeout: callTimeoutMs }),
      connected,
    }
  }
  if (typeof (client as Partial<NodeRedisClientLike>).sendCommand === 'function') {
    const single = client as NodeRedisClientLike
    return {
      kind: 'node-redis',
      send: (command, args, _key, _readonly, timeoutMs) => single.sendCommand([command, ...args], queueTimeout(single.isReady, timeoutMs)),
      waitReplicas: (_key, replicas, timeoutMs, callTimeoutMs) =>
        single.sendCommand(['WAIT', String(replicas), String(timeoutMs)], { timeout: callTimeoutMs }),
      connected: () => single.isReady,
    }
  }
  throw new ConfigError(
    'RedisStore needs a node-redis client or cluster (createClient/createCluster) or an ioredis Redis or Cluster',
  )
}
