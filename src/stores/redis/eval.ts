import type { RedisCommander } from './client.js'
import { isNoScript } from './errors.js'
import type { Script } from './scripts.js'

/**
 * Runs a script with EVALSHA, then EVAL if this node has not cached it (after a restart, a failover,
 * `SCRIPT FLUSH`, or on a cluster node that never ran it). The first key routes it in a cluster.
 */
export async function evalScript(
  redis: RedisCommander,
  script: Script,
  keys: readonly string[],
  args: readonly string[],
  remaining: () => number,
): Promise<unknown> {
  const firstKey = keys[0] as string
  const tail = [String(keys.length), ...keys, ...args]
  try {
    return await redis.send('EVALSHA', [script.sha, ...tail], firstKey, false, remaining())
  } catch (error) {
    if (!isNoScript(error)) throw error
    // EVAL also puts the script back in this node's cache, so the next EVALSHA hits.
    return await redis.send('EVAL', [script.source, ...tail], firstKey, false, remaining())
  }
}
