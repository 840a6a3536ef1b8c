import type { RedisCommander } from './client.js'
import { isNoScript } from './errors.js'
import type { Deadline } from './errors.js'
import type { Script } from './scripts.js'
import { send } from './send.js'

/**
 * Runs a script with EVALSHA, then EVAL if this node has not cached it (after a restart, a failover,
 * `SCRIPT FLUSH`, or on a cluster node that never ran it). The first key routes it in a cluster.
 * Passing refusals are retried within the deadline (see `send`).
 */
export async function evalScript(
  redis: RedisCommander,
  script: Script,
  keys: readonly string[],
  args: readonly string[],
  remaining: Deadline,
): Promise<unknown> {
  const firstKey = keys[0] as string
  const tail = [String(keys.length), ...keys, ...args]
  try {
    return await send(redis, 'EVALSHA', [script.sha, ...tail], firstKey, false, remaining, script.replayable)
  } catch (error) {
    if (!isNoScript(error)) throw error
    // EVAL also puts the script back in this node's cache, so the next EVALSHA hits.
    return await send(redis, 'EVAL', [script.source, ...tail], firstKey, false, remaining, script.replayable)
  }
}
