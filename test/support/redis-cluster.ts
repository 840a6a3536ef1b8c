import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createClient } from 'redis'
import { freePort, startRedisServer } from './redis-process.js'
import type { RedisProcess } from './redis-process.js'

const run = promisify(execFile)

/**
 * A throwaway Redis Cluster on 127.0.0.1: masters, and replicas when asked for.
 *
 * @example
 * ```ts
 * const cluster: RedisCluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 })
 * ```
 */
export interface RedisCluster {
  /** The masters' ports, as created (a failover can change who is master since). */
  readonly ports: number[]
  /** Every node's port, masters first, then replicas. */
  readonly allPorts: number[]
  /** The node on `port`'s process (signal it, or read its directory). */
  node(port: number): RedisProcess
  /** Kills the node on `port` with SIGKILL and waits for it to exit. */
  kill(port: number): Promise<void>
  /**
   * Starts the node on `port` again with its cluster config file, so it rejoins the cluster (a
   * master that was failed over comes back as a replica of its successor), and waits until it answers.
   */
  restart(port: number): Promise<void>
  /** Stops every node and removes their files; safe to call twice and after a failed start. */
  stop(): Promise<void>
}

/**
 * How to build a {@link RedisCluster}.
 *
 * @example
 * ```ts
 * const options: RedisClusterOptions = { masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2000 }
 * ```
 */
export interface RedisClusterOptions {
  /** Masters (default 3). */
  masters?: number
  /** Replicas per master (default 0). */
  replicasPerMaster?: number
  /** `cluster-node-timeout`, in ms (default 5000): how long a node is silent before a failover. */
  nodeTimeoutMs?: number
}

/**
 * One line of `CLUSTER NODES`, as the tests need it.
 *
 * @example
 * ```ts
 * const serving = (await clusterNodes(port)).filter((node: ClusterNodeEntry) => node.master && node.slots > 0)
 * ```
 */
export interface ClusterNodeEntry {
  readonly id: string
  readonly port: number
  /** Whether it is a master (failed or not). */
  readonly master: boolean
  /** Flagged `fail` or `fail?` by the node asked. */
  readonly failing: boolean
  /** The id of its master, for a replica. */
  readonly masterId: string | null
  /** How many slots it serves. */
  readonly slots: number
}

/**
 * The cluster as the node on `port` sees it (`CLUSTER NODES`).
 *
 * @example
 * ```ts
 * const masters = (await clusterNodes(port)).filter((n) => n.master && !n.failing)
 * ```
 */
export async function clusterNodes(port: number): Promise<ClusterNodeEntry[]> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'CLUSTER', 'NODES'])
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...ranges] = line.trim().split(' ') as string[]
      const slots = ranges
        .filter((range) => !range.startsWith('['))
        .reduce((sum, range) => {
          const [from, to] = range.split('-').map(Number) as [number, number | undefined]
          return sum + (to === undefined ? 1 : to - from + 1)
        }, 0)
      const flagList = (flags ?? '').split(',')
      return {
        id: id as string,
        port: Number((address ?? '').split('@')[0]?.split(':')[1]),
        master: flagList.includes('master'),
        failing: flagList.includes('fail') || flagList.includes('fail?'),
        masterId: masterId === '-' || masterId === undefined ? null : masterId,
        slots,
      }
    })
}

async function clusterInfo(port: number): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'CLUSTER', 'INFO'])
  return stdout
}

/**
 * Starts `masters × (1 + replicasPerMaster)` `redis-server --cluster-enabled yes` processes on free
 * ports, joins them with `redis-cli --cluster create … --cluster-replicas n`, and waits until every
 * node reports `cluster_state:ok` and knows every other node. If anything fails on the way, the
 * nodes already started are stopped. A number is taken as the count of masters, without replicas.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2000 })
 * afterAll(() => cluster.stop())
 * const client = await createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${cluster.ports[0]}` }] }).connect()
 * ```
 */
export async function startRedisCluster(options: number | RedisClusterOptions = {}): Promise<RedisCluster> {
  const { masters = 3, replicasPerMaster = 0, nodeTimeoutMs = 5000 } = typeof options === 'number' ? { masters: options } : options
  const total = masters * (1 + replicasPerMaster)
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-cluster-'))
  const nodes = new Map<number, RedisProcess>()
  const argsOf = (port: number) => [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    // A replica (new, or a master back from the dead) syncs at once instead of after 5 s.
    '--repl-diskless-sync-delay',
    '0',
  ]
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await Promise.all([...nodes.values()].map((node) => node.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  const node = (port: number) => {
    const found = nodes.get(port)
    if (!found) throw new Error(`no cluster node on port ${port}`)
    return found
  }
  try {
    for (let i = 0; i < total; i++) {
      // Sequential, so two nodes never pick the same free port.
      const port = await freePort()
      nodes.set(port, await startRedisServer({ port, dir, args: argsOf(port) }))
    }
    const all = [...nodes.keys()]
    // redis-cli makes the first `masters` nodes masters and the rest their replicas.
    await run('redis-cli', ['--cluster', 'create', ...all.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'])
    const deadline = Date.now() + 30_000
    for (const port of all) {
      for (;;) {
        const info = await clusterInfo(port)
        if (info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes(`cluster_known_nodes:${total}`)) break
        if (Date.now() > deadline) throw new Error(`redis cluster node ${port} never reached cluster_state:ok`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    // Replicas are assigned after the slots; every node must know every role before a test starts.
    while (!(await clusterHealthy(all, masters, replicasPerMaster))) {
      if (Date.now() > deadline) throw new Error('the redis cluster never settled its replicas')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const roles = await clusterNodes(all[0] as number)
    const masterPorts = all.filter((port) => roles.some((entry) => entry.port === port && entry.master && entry.slots > 0))
    for (const port of replicasPerMaster > 0 ? masterPorts : []) {
      while (!(await caughtUp(port, replicasPerMaster))) {
        if (Date.now() > deadline) throw new Error(`the replicas of redis cluster node ${port} never synced`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    return {
      ports: masterPorts,
      allPorts: [...masterPorts, ...all.filter((port) => !masterPorts.includes(port))],
      node,
      kill: (port) => node(port).kill(),
      async restart(port) {
        const old = node(port)
        if (old.child.exitCode === null && old.child.signalCode === null) throw new Error(`cluster node ${port} is still running`)
        nodes.set(port, await startRedisServer({ port, dir, args: argsOf(port) }))
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * A slot half-way through a move between two masters, as `redis-cli --cluster reshard` leaves it.
 *
 * @example
 * ```ts
 * const migration: SlotMigration = await beginSlotMigration(cluster.ports, key)
 * ```
 */
export interface SlotMigration {
  readonly slot: number
  /** Moves one key to the target now (MIGRATE); answers 'OK', or 'NOKEY' for a missing key. */
  move(key: string): Promise<unknown>
  /**
   * Runs a command on the slot's current owner, which still serves the keys not moved yet; for a
   * key it no longer holds (moved or deleted) it answers ASK, given back as the text `'ASK'`.
   */
  onSource(args: string[]): Promise<unknown>
  /** Runs a command on the importing master (after ASKING, as a redirected client would). */
  onTarget(args: string[]): Promise<unknown>
  /** Moves the remaining keys and hands the slot to the target on every master; safe to call twice. */
  finish(): Promise<void>
}

interface NodeClient {
  sendCommand(args: string[]): Promise<unknown>
  close(): Promise<unknown>
}

/**
 * Starts moving the slot of `key` from its master to another one (CLUSTER SETSLOT IMPORTING /
 * MIGRATING), moving no key yet: during a real reshard, keys of one slot sit on both masters for a
 * while, and a multi-key command whose keys are split between them is answered TRYAGAIN.
 *
 * @example
 * ```ts
 * const migration = await beginSlotMigration(cluster.ports, key)
 * await migration.move(key)
 * await migration.finish()
 * ```
 */
export async function beginSlotMigration(ports: number[], key: string): Promise<SlotMigration> {
  const nodes: NodeClient[] = await Promise.all(
    ports.map((port) => createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => {}).connect()),
  )
  const first = nodes[0] as NodeClient
  const slot = Number(await first.sendCommand(['CLUSTER', 'KEYSLOT', key]))
  const ranges = (await first.sendCommand(['CLUSTER', 'SLOTS'])) as [number, number, [string, number, string]][]
  const owner = ranges.find(([start, end]) => start <= slot && slot <= end)
  if (!owner) throw new Error(`no master owns slot ${slot}`)
  const sourceIndex = ports.indexOf(Number(owner[2][1]))
  const targetIndex = (sourceIndex + 1) % ports.length
  const source = nodes[sourceIndex] as NodeClient
  const target = nodes[targetIndex] as NodeClient
  const targetPort = String(ports[targetIndex])
  const [sourceId, targetId] = (await Promise.all([source, target].map((node) => node.sendCommand(['CLUSTER', 'MYID'])))) as string[]
  await target.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId as string])
  await source.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId as string])
  let finished = false
  const move = (moved: string) => source.sendCommand(['MIGRATE', '127.0.0.1', targetPort, moved, '0', '5000'])
  return {
    slot,
    move,
    onSource: (args) =>
      source.sendCommand(args).catch((error: unknown) => {
        if (error instanceof Error && error.message.startsWith('ASK ')) return 'ASK'
        throw error
      }),
    onTarget: async (args) => {
      await target.sendCommand(['ASKING'])
      return target.sendCommand(args)
    },
    async finish() {
      if (finished) return
      finished = true
      try {
        for (;;) {
          const left = (await source.sendCommand(['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])) as string[]
          if (left.length === 0) break
          for (const moved of left) await move(moved)
        }
        // The importing side first, as redis-cli does: the slot always has an owner that accepts it.
        await target.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId as string])
        await source.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId as string])
        for (const node of nodes) {
          if (node !== source && node !== target) await node.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId as string])
        }
      } finally {
        await Promise.all(nodes.map((node) => node.close()))
      }
    },
  }
}

/**
 * The port of the master that owns `key`'s slot, as the node on `askPort` sees it (CLUSTER SLOTS).
 *
 * @example
 * ```ts
 * const owner = await ownerOf(cluster.ports[0], key)
 * ```
 */
export async function ownerOf(askPort: number, key: string): Promise<number> {
  const node = await createClient({ url: `redis://127.0.0.1:${askPort}` }).on('error', () => {}).connect()
  try {
    const slot = Number(await node.sendCommand(['CLUSTER', 'KEYSLOT', key]))
    const ranges = (await node.sendCommand(['CLUSTER', 'SLOTS'])) as [number, number, [string, number, string]][]
    const range = ranges.find(([start, end]) => start <= slot && slot <= end)
    if (!range) throw new Error(`no master owns slot ${slot}`)
    return Number(range[2][1])
  } finally {
    await node.close()
  }
}

/**
 * How many times the node on `port` has answered the error reply `code` (TRYAGAIN, CLUSTERDOWN…)
 * since it started: its `INFO errorstats` line, 0 when there is none.
 *
 * @example
 * ```ts
 * await waitFor(async () => (await errorCount(port, 'TRYAGAIN')) > before)
 * ```
 */
export async function errorCount(port: number, code: string): Promise<number> {
  const node = await createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => {}).connect()
  try {
    const info = String(await node.sendCommand(['INFO', 'errorstats']))
    const match = new RegExp(`^errorstat_${code}:count=(\\d+)`, 'm').exec(info)
    return match ? Number(match[1]) : 0
  } finally {
    await node.close()
  }
}

/**
 * How many `command` calls the node on `port` refused before running them (a `CLUSTERDOWN` or a
 * redirection counts here), from `INFO commandstats`: unlike {@link errorCount}, blind to the
 * errors of other commands (the cluster watch's own probes among them).
 *
 * @example
 * ```ts
 * const before = await rejectedCalls(owner, 'hgetall')
 * ```
 */
export async function rejectedCalls(port: number, command: string): Promise<number> {
  const node = await createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => {}).connect()
  try {
    const info = String(await node.sendCommand(['INFO', 'commandstats']))
    const match = new RegExp(`^cmdstat_${command}:.*rejected_calls=(\\d+)`, 'm').exec(info)
    return match ? Number(match[1]) : 0
  } finally {
    await node.close()
  }
}

/**
 * Whether the master on `port` has `replicas` replicas past their initial sync whose acknowledged
 * offset is within `toleranceBytes` of everything it has written (`INFO replication`; 0: all of it).
 *
 * @example
 * ```ts
 * await waitFor('replication', () => caughtUp(master, 1))
 * ```
 */
export async function caughtUp(port: number, replicas = 1, toleranceBytes = 0): Promise<boolean> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'INFO', 'replication'])
  const offset = Number(/^master_repl_offset:(\d+)/m.exec(stdout)?.[1] ?? NaN)
  // Only replicas past their initial sync count: one still loading reports offset 0 like an idle master.
  const replicaOffsets = [...stdout.matchAll(/^slave\d+:.*state=online,offset=(\d+)/gm)].map((match) => Number(match[1]))
  return Number.isFinite(offset) && replicaOffsets.length >= replicas && replicaOffsets.every((value) => offset - value <= toleranceBytes)
}

/**
 * Whether the cluster is whole again: every node on `ports` answers, reports `cluster_state:ok`,
 * and sees `masters` masters serving slots, each with `replicasPerMaster` replicas, none failing.
 *
 * @example
 * ```ts
 * await waitFor('the cluster to heal', () => clusterHealthy(cluster.allPorts, 3, 1), 30_000)
 * ```
 */
export async function clusterHealthy(ports: number[], masters: number, replicasPerMaster: number): Promise<boolean> {
  try {
    for (const port of ports) {
      if (!(await clusterInfo(port)).includes('cluster_state:ok')) return false
      const nodes = await clusterNodes(port)
      if (nodes.some((entry) => entry.failing)) return false
      const serving = nodes.filter((entry) => entry.master && entry.slots > 0)
      if (serving.length !== masters) return false
      for (const master of serving) {
        if (nodes.filter((entry) => entry.masterId === master.id).length !== replicasPerMaster) return false
      }
    }
    return true
  } catch {
    return false
  }
}

/**
 * Runs one command on the node on `port` (a connection of its own, closed afterwards).
 *
 * @example
 * ```ts
 * await nodeCommand(replicaPort, ['CLUSTER', 'FAILOVER'])
 * ```
 */
export async function nodeCommand(port: number, args: string[]): Promise<unknown> {
  const node = await createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 2000 } })
    .on('error', () => {})
    .connect()
  try {
    return await node.sendCommand(args)
  } finally {
    node.destroy()
  }
}

/**
 * Moves `slots` hash slots from the master on `fromPort` to the master on `toPort` with
 * `redis-cli --cluster reshard`, keys included, as an operator would.
 *
 * @example
 * ```ts
 * await reshard(cluster.allPorts[0], from, to, 300)
 * ```
 */
export async function reshard(askPort: number, fromPort: number, toPort: number, slots: number): Promise<void> {
  const nodes = await clusterNodes(askPort)
  const idOf = (port: number) => {
    const found = nodes.find((node) => node.port === port)
    if (!found) throw new Error(`no cluster node on port ${port}`)
    return found.id
  }
  await run('redis-cli', [
    '--cluster',
    'reshard',
    `127.0.0.1:${askPort}`,
    '--cluster-from',
    idOf(fromPort),
    '--cluster-to',
    idOf(toPort),
    '--cluster-slots',
    String(slots),
    '--cluster-yes',
  ])
}

/**
 * Moves `slots` (with their keys) from the master on `fromPort` to the master on `toPort` the way
 * `redis-cli --cluster reshard` does, except that every slot is put half-way first (IMPORTING and
 * MIGRATING) and the keys are then moved one slot every `pauseMs`: for the whole move, each of these
 * slots has some keys on each master, so clients meet ASK and TRYAGAIN on all of them at once, not
 * on one slot for a few milliseconds. Resolves once every master names the new owner.
 *
 * @example
 * ```ts
 * await migrateSlots(cluster.ports, from, to, busiestSlots, 10)
 * ```
 */
export async function migrateSlots(masterPorts: number[], fromPort: number, toPort: number, slots: number[], pauseMs: number): Promise<void> {
  const nodes = new Map(
    await Promise.all(
      masterPorts.map(async (port) => [port, await createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => {}).connect()] as const),
    ),
  )
  const on = (port: number) => {
    const node = nodes.get(port)
    if (!node) throw new Error(`no master on port ${port}`)
    return node
  }
  try {
    const source = on(fromPort)
    const target = on(toPort)
    const sourceId = String(await source.sendCommand(['CLUSTER', 'MYID']))
    const targetId = String(await target.sendCommand(['CLUSTER', 'MYID']))
    for (const slot of slots) {
      await target.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId])
      await source.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId])
    }
    const moveKeys = async (slot: number) => {
      for (;;) {
        const keys = (await source.sendCommand(['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])) as string[]
        if (keys.length === 0) return
        await source.sendCommand(['MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', ...keys])
      }
    }
    for (const slot of slots) {
      await moveKeys(slot)
      await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
    for (const slot of slots) {
      // Keys written meanwhile went to the target (ASK), but a write racing the first pass may not have.
      await moveKeys(slot)
      // The importing side first, as redis-cli does: the slot always has an owner that accepts it.
      await target.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId])
      await source.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId])
      for (const [port, node] of nodes) {
        if (port !== fromPort && port !== toPort) await node.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId])
      }
    }
  } finally {
    await Promise.all([...nodes.values()].map((node) => node.close()))
  }
}

/**
 * The `count` slots of the master on `port` that hold the most keys matching `pattern`.
 *
 * @example
 * ```ts
 * const busiest = await busiestSlots(master, 'cloakroom-scale:*', 300)
 * ```
 */
export async function busiestSlots(port: number, pattern: string, count: number): Promise<number[]> {
  const node = await createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => {}).connect()
  try {
    const perSlot = new Map<number, number>()
    let cursor = '0'
    do {
      const [next, keys] = (await node.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]]
      cursor = next
      for (const key of keys) {
        const slot = Number(await node.sendCommand(['CLUSTER', 'KEYSLOT', key]))
        perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1)
      }
    } while (cursor !== '0')
    return [...perSlot.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([slot]) => slot)
  } finally {
    await node.close()
  }
}
