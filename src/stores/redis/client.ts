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
  sendCommand(args: readonly string[], options?: { timeout?: number; abortSignal?: AbortSignal }): Promise<unknown>
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
    options?: { timeout?: number; abortSignal?: AbortSignal },
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
 * Drops node-redis commands that still wait in its offline queue when their store call gives up, so
 * that they are not sent once the connection returns (and so that `client.close()`, which waits for
 * an empty queue, does not wait for them). node-redis's per-command `timeout` would do it with an
 * `AbortSignal.timeout` per command (a timer, a listener and a finalizer: about 7 µs, half of what a
 * Redis `/counter` added to the bare framework in the benchmark). Here the calls that give up at the
 * same millisecond share one `AbortController`, made when their first command is sent and aborted
 * by the call's own deadline (`withDeadline` calls {@link QueueDeadlines.expire} before it rejects),
 * so no command of a call that failed is still queued when its caller hears of it. A command already
 * written is out of the queue's reach either way (node-redis forgets the signal then). Used for a
 * single node-redis client; a node-redis cluster keeps the per-command timeout.
 */
class QueueDeadlines {
  readonly #calls = new Map<number, { calls: number; controller: AbortController | undefined }>()

  /** A store call giving up at `at` (epoch ms) has begun. */
  hold(at: number): void {
    const entry = this.#calls.get(at)
    if (entry === undefined) this.#calls.set(at, { calls: 1, controller: undefined })
    else entry.calls++
  }

  /** A store call giving up at `at` has settled (before its deadline, or at it). */
  release(at: number): void {
    const entry = this.#calls.get(at)
    if (entry !== undefined && --entry.calls === 0) this.#calls.delete(at)
  }

  /** The calls giving up at `at` have: their commands still queued are dropped. */
  expire(at: number): void {
    const entry = this.#calls.get(at)
    this.#calls.delete(at)
    entry?.controller?.abort(new Error('the store call gave up while the command waited for a connection'))
  }

  /** The options that drop a command of a call giving up at `at` if it is still queued then. */
  options(at: number): { abortSignal: AbortSignal } | { timeout: number } {
    const entry = this.#calls.get(at)
    // A command sent outside a store call (no call holds `at`): node-redis's own timeout, at its cost.
    if (entry === undefined) return { timeout: Math.max(1, at - Date.now()) }
    entry.controller ??= new AbortController()
    return { abortSignal: entry.controller.signal }
  }
}

/**
 * The one raw-command path the store uses, whatever the client.
 */
export interface RedisCommander {
  /** Which client kind this is, for messages and tests. */
  readonly kind: 'node-redis' | 'node-redis-cluster' | 'ioredis' | 'ioredis-cluster'
  /**
   * Sends one command of a store call that gives up at `at` (epoch ms). `key` routes it in a
   * cluster. Drivers that can drop a command still waiting in their offline queue (node-redis) drop
   * it when that call gives up, so it is not sent after the call failed.
   */
  send(command: string, args: string[], key: string, readonly: boolean, at: number): Promise<unknown>
  /** A store call giving up at `at` began ({@link withDeadline} tells the commander). */
  hold?(at: number): void
  /** That call settled. */
  release?(at: number): void
  /** That call gives up now: its commands still queued must be dropped before it rejects. */
  expire?(at: number): void
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
      send: (command, args, key, readonly, at) => {
        // A slot map read from a node that serves no master for a slot has a hole there, and
        // node-redis then fails with a TypeError: it is a slot without a master, which passes.
        if (client.slots !== undefined && client.slots[keySlot(key)] === undefined) {
          return Promise.reject(new Error('CLUSTERDOWN the client knows no master for this hash slot'))
        }
        // node-redis's own timeout, one AbortSignal per command: on a cluster the shared controllers
        // of a single client's commands left a command behind during a failover (it kept close() waiting).
        return client.sendCommand(key, readonly, [command, ...args], { timeout: Math.max(1, at - Date.now()) })
      },
      // Routed by the key, so it goes on the connection the write went on.
      waitReplicas: (key, replicas, timeoutMs, callTimeoutMs) =>
        client.sendCommand(key, false, ['WAIT', String(replicas), String(timeoutMs)], { timeout: callTimeoutMs }),
      connected,
    }
  }
  if (typeof (client as Partial<NodeRedisClientLike>).sendCommand === 'function') {
    const single = client as NodeRedisClientLike
    const deadlines = new QueueDeadlines()
    return {
      kind: 'node-redis',
      send: (command, args, _key, _readonly, at) => single.sendCommand([command, ...args], deadlines.options(at)),
      hold: (at) => deadlines.hold(at),
      release: (at) => deadlines.release(at),
      expire: (at) => deadlines.expire(at),
      waitReplicas: (_key, replicas, timeoutMs, callTimeoutMs) =>
        single.sendCommand(['WAIT', String(replicas), String(timeoutMs)], { timeout: callTimeoutMs }),
      connected: () => single.isReady,
    }
  }
  throw new ConfigError(
    'RedisStore needs a node-redis client or cluster (createClient/createCluster) or an ioredis Redis or Cluster',
  )
}
