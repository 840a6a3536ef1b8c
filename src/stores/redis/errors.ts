import { StoreError } from '../../core/errors.js'
import type { RedisCommander } from './client.js'

// Connection-level failures, by the class names and messages node-redis 4/5 and ioredis 5 use.
const UNAVAILABLE_NAMES = new Set([
  'ClientClosedError',
  'ClientOfflineError',
  'SocketClosedUnexpectedlyError',
  'ConnectionTimeoutError',
  'DisconnectsClientError',
  'ReconnectStrategyError',
  'RootNodesUnavailableError',
  'MaxRetriesPerRequestError',
  'ClusterAllFailedError',
])
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN', 'ENOTFOUND'])
const UNAVAILABLE_MESSAGES = [
  'Connection is closed',
  "Stream isn't writeable",
  'The client is closed',
  'Failed to refresh slots cache',
  'None of startup nodes is available',
  // Replies a server gives while it cannot serve: still loading, a cluster without quorum, a replica.
  'LOADING',
  'CLUSTERDOWN',
  'MASTERDOWN',
  'READONLY',
]

function describe(error: unknown): { name: string; code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    // node-redis' error classes leave `name` as 'Error'; their constructor names are what tell them apart.
    const name = error.name && error.name !== 'Error' ? error.name : error.constructor.name
    return { name, code: typeof code === 'string' ? code : '', message: error.message }
  }
  return { name: '', code: '', message: String(error) }
}

/**
 * Whether a Redis error is `NOSCRIPT` (the script cache was flushed, or this node never saw it).
 */
export function isNoScript(error: unknown): boolean {
  return describe(error).message.startsWith('NOSCRIPT')
}

/**
 * Whether a Redis error says the key holds another type than a hash: data that is not ours, which
 * the store treats as absent.
 */
export function isWrongType(error: unknown): boolean {
  return describe(error).message.startsWith('WRONGTYPE')
}

/**
 * Wraps a driver error in a {@link StoreError}. The message names the operation only: driver
 * messages can quote arguments, and arguments hold session keys and values.
 */
export function toStoreError(error: unknown, operation: string): StoreError {
  if (error instanceof StoreError) return error
  const { name, code, message } = describe(error)
  if (name === 'TimeoutError' || name.endsWith('TimeoutDuringMaintenanceError')) {
    return new StoreError('timeout', `redis ${operation} timed out`, { cause: error })
  }
  if (
    UNAVAILABLE_NAMES.has(name) ||
    UNAVAILABLE_CODES.has(code) ||
    UNAVAILABLE_MESSAGES.some((prefix) => message.startsWith(prefix))
  ) {
    return new StoreError('unavailable', `redis is unavailable (${operation} failed: ${name || 'connection error'})`, { cause: error })
  }
  return new StoreError('backend', `redis ${operation} failed (${name || 'error'})`, { cause: error })
}

/**
 * Runs `work` under a deadline of `timeoutMs`. Past it the call rejects with a `StoreError`: kind
 * `'unavailable'` when the client is known to be disconnected (its offline queue would otherwise
 * wait for a reconnect), `'timeout'` when it is connected and Redis is silent. The work itself may
 * still complete later (ioredis cannot withdraw a sent command); its late result or error is
 * swallowed so it never becomes an unhandled rejection.
 */
export function withDeadline<T>(
  commander: RedisCommander,
  timeoutMs: number,
  operation: string,
  work: (remainingMs: () => number) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  const remaining = () => Math.max(1, deadline - Date.now())
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<T>
  try {
    running = work(remaining)
  } catch (error) {
    running = Promise.reject(error)
  }
  running.catch(() => {})
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        commander.connected()
          ? new StoreError('timeout', `redis did not answer ${operation} within ${timeoutMs} ms`)
          : new StoreError('unavailable', `redis is not connected (${operation} gave up after ${timeoutMs} ms)`),
      )
    }, timeoutMs)
  })
  return Promise.race([running, expired])
    .catch((error: unknown) => {
      const mapped = toStoreError(error, operation)
      // A driver's own timeout while disconnected is an outage, not a slow server.
      if (mapped.kind === 'timeout' && !commander.connected()) {
        throw new StoreError('unavailable', `redis is not connected (${operation} gave up after ${timeoutMs} ms)`, { cause: error })
      }
      throw mapped
    })
    .finally(() => clearTimeout(timer))
}
