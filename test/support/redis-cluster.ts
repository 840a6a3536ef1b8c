import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
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
