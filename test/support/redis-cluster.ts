import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createClient } from 'redis'
import { freePort, startRedisServer } from './redis-process.js'
import type { RedisProcess } from './redis-process.js'

const run = promisify(execFile)

/** A throwaway Redis Cluster of masters without replicas, on 127.0.0.1. */
export interface RedisCluster {
  /** The masters' ports. */
  readonly ports: number[]
  /** Stops every node and removes their files; safe to call twice and after a failed start. */
  stop(): Promise<void>
}

async function clusterInfo(port: number): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'CLUSTER', 'INFO'])
  return stdout
}

/**
 * Starts `masters` (default 3) `redis-server --cluster-enabled yes` processes on free ports, joins
 * them with `redis-cli --cluster create … --cluster-replicas 0`, and waits until every node reports
 * `cluster_state:ok`. If anything fails on the way, the nodes already started are stopped.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster()
 * afterAll(() => cluster.stop())
 * const client = await createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${cluster.ports[0]}` }] }).connect()
 * ```
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-cluster-'))
  const nodes: RedisProcess[] = []
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await Promise.all(nodes.map((node) => node.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < masters; i++) {
      // Sequential, so two nodes never pick the same free port.
      const port = await freePort()
      nodes.push(
        await startRedisServer({
          port,
          dir,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000'],
        }),
      )
    }
    const ports = nodes.map((node) => node.port)
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'])
    const deadline = Date.now() + 20_000
    for (const port of ports) {
      for (;;) {
        const info = await clusterInfo(port)
        if (info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes(`cluster_known_nodes:${masters}`)) break
        if (Date.now() > deadline) throw new Error(`redis cluster node ${port} never reached cluster_state:ok`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    return { ports, stop }
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
