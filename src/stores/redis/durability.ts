import { ConfigError, StoreError } from '../../core/errors.js'
import type { RedisCommander } from './client.js'
import { toStoreError } from './errors.js'
import type { Deadline } from './errors.js'

/**
 * How sure a logout (and a renew) must be to survive a failover. Redis replicates asynchronously:
 * a master that dies before its replica has a write loses it, and a session logged out (or an id
 * renewed away) in that window is readable again on the replica that takes over. With this option,
 * after `delete`, `revokeByUser` and `renew` the store sends `WAIT replicas timeoutMs` on the
 * connection that wrote (`WAIT` inside `MULTI` or a script does not block, so it is a command of
 * its own), and the call succeeds only once that many replicas have the change. Otherwise it fails
 * with `StoreError('unavailable')` (`onShortfall: 'fail'`, the default: the logout was not
 * acknowledged, and the user can be told so) or succeeds after calling `warn` (`'warn'`).
 *
 * @example
 * ```ts
 * new RedisStore({ client, durability: { replicas: 1, timeoutMs: 100 } })
 * ```
 */
export interface RedisDurability {
  /** How many replicas must have the change (at least 1). */
  replicas: number
  /** How long to wait for them, in ms; less than the store's `timeoutMs`. */
  timeoutMs: number
  /** What a shortfall does: `'fail'` (default) rejects the call, `'warn'` reports it and succeeds. */
  onShortfall?: 'fail' | 'warn'
  /** Where `'warn'` reports (default `console.warn`). The message holds no key or id. */
  warn?: (message: string) => void
}

/**
 * Checks a {@link RedisDurability} against the store's `timeoutMs`, or `undefined` for none.
 *
 * @example
 * ```ts
 * const durability = resolveDurability(options.durability, 2000)
 * ```
 */
export function resolveDurability(durability: RedisDurability | undefined, storeTimeoutMs: number): Required<RedisDurability> | undefined {
  if (durability === undefined) return undefined
  const { replicas, timeoutMs, onShortfall = 'fail', warn = (message: string) => console.warn(message) } = durability
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new ConfigError(`RedisStore durability.replicas must be a whole number of replicas, at least 1 (got ${String(replicas)})`)
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs >= storeTimeoutMs) {
    throw new ConfigError(
      `RedisStore durability.timeoutMs must be a whole number of ms above 0 and below the store's timeoutMs (${storeTimeoutMs}), got ${String(timeoutMs)}`,
    )
  }
  if (onShortfall !== 'fail' && onShortfall !== 'warn') {
    throw new ConfigError(`RedisStore durability.onShortfall must be 'fail' or 'warn' (got ${JSON.stringify(onShortfall)})`)
  }
  if (typeof warn !== 'function') throw new ConfigError('RedisStore durability.warn must be a function (message) => void')
  return { replicas, timeoutMs, onShortfall, warn }
}

/**
 * Waits until `durability.replicas` replicas have what the connection to `key`'s master wrote, then
 * returns; on a shortfall (or a `WAIT` that failed) rejects or warns as `onShortfall` says.
 *
 * @example
 * ```ts
 * await awaitReplicas(redis, durability, key, 'delete', remaining)
 * ```
 */
export async function awaitReplicas(
  redis: RedisCommander,
  durability: Required<RedisDurability>,
  key: string,
  operation: string,
  remaining: Deadline,
): Promise<void> {
  const { replicas, timeoutMs, onShortfall, warn } = durability
  let acknowledged = 0
  let cause: unknown
  try {
    acknowledged = Number(await redis.waitReplicas(key, replicas, timeoutMs, remaining()))
  } catch (error) {
    cause = error
  }
  if (acknowledged >= replicas) return
  const why = cause === undefined ? `${acknowledged} of ${replicas} replicas acknowledged it within ${timeoutMs} ms` : `its WAIT failed (${toStoreError(cause, 'WAIT').kind})`
  const message = `redis ${operation} is not durable: ${why}; a failover now could undo it`
  if (onShortfall === 'warn') {
    warn(`cloakroom: ${message}`)
    return
  }
  throw new StoreError('unavailable', message, cause === undefined ? undefined : { cause })
}
