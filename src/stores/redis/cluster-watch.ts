import { keySlot, SLOTS } from './slot.js'

/** A node of a node-redis cluster's slot map, through the public members the watch reads. */
interface WatchedNode {
  readonly address: string
  readonly client?: {
    readonly isReady: boolean
    sendCommand(args: string[], options?: { timeout?: number }): Promise<unknown>
  }
}

/**
 * A node-redis (4/5) `createCluster()` client, seen through the public members the watch uses:
 * its slot map, its masters, `sendCommand`, and its events.
 *
 * @example
 * ```ts
 * const cluster: WatchedCluster = await createCluster({ rootNodes }).connect()
 * ```
 */
export interface WatchedCluster {
  readonly isOpen: boolean
  readonly masters: readonly WatchedNode[]
  readonly slots: readonly ({ readonly master: WatchedNode } | undefined)[]
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[], options?: { timeout?: number }): Promise<unknown>
  on(event: 'node-reconnecting', listener: (node: { host?: string; port?: number }) => void): unknown
}

// How often a cluster in trouble is checked, how long after the last failed call it stays in
// trouble, and the bound on each check's commands.
const CHECK_EVERY_MS = 300
const TROUBLE_MS = 3000
const COMMAND_MS = 500

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    // A watch never keeps the process alive.
    ;(timer as { unref?: () => void }).unref?.()
  })
}

// A key in each slot, found once: the probe needs a key the dead master's slots hold.
const probeKeys = new Map<number, string>()
function keyInSlot(slot: number): string {
  let key = probeKeys.get(slot)
  for (let n = 0; key === undefined; n++) {
    const candidate = `cloakroom-probe:{${n.toString(36)}}`
    if (keySlot(candidate) === slot) key = candidate
  }
  probeKeys.set(slot, key)
  return key
}

/** `CLUSTER SLOTS` as `[first slot, last slot, master address]` per range. */
function owners(reply: unknown): [number, number, string][] {
  if (!Array.isArray(reply)) return []
  return reply.flatMap((range: unknown) => {
    if (!Array.isArray(range)) return []
    const [start, end, master] = range as [unknown, unknown, unknown]
    if (!Array.isArray(master)) return []
    const [host, port] = master as [unknown, unknown]
    if (typeof host !== 'string' || host === '') return []
    return [[Number(start), Math.min(Number(end), SLOTS - 1), `${host}:${String(port)}`] as [number, number, string]]
  })
}

/**
 * Keeps a node-redis cluster's slot map in step with a failover. node-redis re-reads the slot map
 * only when a node answers MOVED or ASK (redis/node-redis#2806), and a master that died answers
 * nothing: the commands for its slots wait for it to come back, also after its replica took over.
 * So while a master's connection is down (the cluster's `node-reconnecting` event) or calls keep
 * failing, this asks a live master for `CLUSTER SLOTS` every 300 ms; when it names another master
 * for a range than the client's map does, it sends a read of a key in that range to a random node
 * (`EXISTS`, through the public `sendCommand`), which a live master answers MOVED, and node-redis
 * re-reads the slot map. It stops once every master's connection is up and no call has failed for
 * 3 s, and never keeps the process alive.
 *
 * @example
 * ```ts
 * new ClusterWatch(cluster).trouble()
 * ```
 *
 * @internal
 */
export class ClusterWatch {
  readonly #cluster: WatchedCluster
  #troubleAt = 0
  #running = false

  constructor(cluster: WatchedCluster) {
    this.#cluster = cluster
    cluster.on('node-reconnecting', () => this.trouble())
  }

  /** A call failed in a way a failover explains (timed out, connection lost, refused): start checking. */
  trouble(): void {
    this.#troubleAt = Date.now()
    if (this.#running) return
    this.#running = true
    void this.#watch().finally(() => {
      this.#running = false
    })
  }

  async #watch(): Promise<void> {
    while (this.#cluster.isOpen && this.#inTrouble()) {
      await this.#check().catch(() => {})
      await pause(CHECK_EVERY_MS)
    }
  }

  #inTrouble(): boolean {
    if (Date.now() - this.#troubleAt < TROUBLE_MS) return true
    return this.#cluster.masters.some((master) => master.client !== undefined && !master.client.isReady)
  }

  /** One check: compare a live master's view of the slots with the client's, and make it re-read them if they differ. */
  async #check(): Promise<void> {
    const live = this.#cluster.masters.find((master) => master.client?.isReady === true)?.client
    if (live === undefined) return
    const stale = this.#staleSlot(owners(await live.sendCommand(['CLUSTER', 'SLOTS'], { timeout: COMMAND_MS })))
    if (stale === undefined) return
    // A random node: a live master answers MOVED, and node-redis then re-reads the slot map. The
    // reply itself (or an error from a dead node, or the MOVED node-redis gives up on) is not needed.
    await this.#cluster.sendCommand(undefined, true, ['EXISTS', keyInSlot(stale)], { timeout: COMMAND_MS }).catch(() => {})
  }

  /** The first slot the client maps to another master than `view` says (or to none), if any. */
  #staleSlot(view: readonly [number, number, string][]): number | undefined {
    const { slots } = this.#cluster
    for (const [start, end, address] of view) {
      for (let slot = Math.max(0, start); slot <= end; slot++) if (slots[slot]?.master.address !== address) return slot
    }
    return undefined
  }
}

const watches = new WeakMap<object, ClusterWatch>()

/**
 * The one {@link ClusterWatch} of a node-redis cluster client (stores sharing a client share it),
 * or `undefined` for a client without the members it needs (a node-redis older than 4.6, or a
 * stand-in).
 *
 * @example
 * ```ts
 * watchCluster(cluster)?.trouble()
 * ```
 */
export function watchCluster(cluster: object): ClusterWatch | undefined {
  const found = watches.get(cluster)
  if (found !== undefined) return found
  const candidate = cluster as Partial<WatchedCluster>
  if (typeof candidate.on !== 'function' || typeof candidate.sendCommand !== 'function' || !Array.isArray(candidate.masters) || !Array.isArray(candidate.slots)) {
    return undefined
  }
  const watch = new ClusterWatch(cluster as WatchedCluster)
  watches.set(cluster, watch)
  return watch
}
