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
  // A cluster moving slots: a redirection the client did not follow (or gave up following), or a
  // script whose keys a migration has split between two masters.
  'TRYAGAIN',
  'MOVED',
  'ASK',
]

// Replies that say the command was refused before it ran: sending it again is always safe.
const REFUSALS = ['TRYAGAIN', 'CLUSTERDOWN', 'MOVED', 'ASK', 'LOADING', 'MASTERDOWN', 'READONLY']
// The connection went away with the command sent or about to be: it may or may not have run.
const UNCERTAIN_NAMES = new Set(['SocketClosedUnexpectedlyError', 'DisconnectsClientError'])
const UNCERTAIN_MESSAGES = ['Connection is closed', 'Socket closed unexpectedly', 'Disconnects client']

// ioredis' Cluster retries MOVED, ASK, TRYAGAIN, CLUSTERDOWN and closed connections itself, and
// when it gives up it throws a new plain Error whose message quotes the last one it got.
const REDIRECTIONS = 'Too many Cluster redirections. Last error: '

function describe(error: unknown): { name: string; code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    // node-redis' error classes leave `name` as 'Error'; their constructor names are what tell them apart.
    const name = error.name && error.name !== 'Error' ? error.name : error.constructor.name
    if (error.message.startsWith(REDIRECTIONS)) {
      // "…Last error: ReplyError: TRYAGAIN …" or "…Last error: Error: Connection is closed.": the
      // quoted error, by its own name and message, is what happened.
      const last = /^(\w*Error): ([\s\S]*)$/.exec(error.message.slice(REDIRECTIONS.length))
      if (last) return { name: last[1] === 'Error' ? '' : (last[1] as string), code: '', message: last[2] as string }
    }
    return { name, code: typeof code === 'string' ? code : '', message: error.message }
  }
  return { name: '', code: '', message: String(error) }
}

/** What to call an error in a message: the reply's first word for a refusal (never its arguments, which can hold keys), else its class. */
function label(error: unknown): string {
  const { name, message } = describe(error)
  const word = /^[A-Z]+/.exec(message)?.[0]
  if (word !== undefined && (REFUSALS.includes(word) || UNAVAILABLE_MESSAGES.includes(word))) return word
  if (name === '' && UNCERTAIN_MESSAGES.some((prefix) => message.startsWith(prefix))) return 'connection closed'
  return name
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
 * Whether a failed command may be sent again: `'refused'` when Redis refused it before running it
 * (a slot moving or without a master, a node loading or turned replica; or a node-redis client
 * that never sent it), `'uncertain'` when the connection dropped and it may have run (send it again
 * only if running it twice does no harm), `undefined` for everything else.
 *
 * @example
 * ```ts
 * if (transience(error) === 'refused') retry()
 * ```
 */
export function transience(error: unknown): 'refused' | 'uncertain' | undefined {
  const { name, message } = describe(error)
  if (name === 'ClientOfflineError' || REFUSALS.some((reply) => message.startsWith(`${reply} `) || message === reply)) return 'refused'
  if (UNCERTAIN_NAMES.has(name) || UNCERTAIN_MESSAGES.some((prefix) => message.startsWith(prefix))) return 'uncertain'
  return undefined
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
    return new StoreError('unavailable', `redis is unavailable (${operation} failed: ${label(error) || 'connection error'})`, { cause: error })
  }
  return new StoreError('backend', `redis ${operation} failed (${label(error) || 'error'})`, { cause: error })
}

/**
 * The time left to one store call, as a function (at least 1 ms), plus what the call's commands
 * learned on the way: the key of the command last sent (to tell a dead node from a slow one) and
 * the last refusal a retry is waiting out. Created by {@link withDeadline}.
 *
 * @example
 * ```ts
 * await withDeadline(redis, 2000, 'load', (remaining: Deadline) => send(redis, 'HGETALL', [key], key, true, remaining))
 * ```
 */
export interface Deadline {
  (): number
  /** When the call gives up, in epoch ms. */
  readonly at: number
  /** The routing key of the command last sent. */
  key?: string
  /** The last error a retry is waiting out (a refusal or a dropped connection). */
  retrying?: unknown
}

/**
 * Runs `work` under a deadline of `timeoutMs`. Past it the call rejects with a `StoreError`: kind
 * `'unavailable'` when the node the last command went to is known to be disconnected (its offline
 * queue would otherwise wait for a reconnect) or when the call was waiting out a refusal
 * (`TRYAGAIN`, `CLUSTERDOWN`…), `'timeout'` when it is connected and Redis is silent. The work
 * itself may still complete later (ioredis cannot withdraw a sent command); its late result or
 * error is swallowed so it never becomes an unhandled rejection.
 */
export function withDeadline<T>(
  commander: RedisCommander,
  timeoutMs: number,
  operation: string,
  work: (remaining: Deadline) => Promise<T>,
): Promise<T> {
  const at = Date.now() + timeoutMs
  const remaining: Deadline = Object.assign(() => Math.max(1, at - Date.now()), { at })
  const disconnected = () => !commander.connected(remaining.key)
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<T>
  commander.hold?.(at)
  try {
    running = work(remaining)
  } catch (error) {
    running = Promise.reject(error)
  }
  running.catch(() => {})
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Commands still waiting for a connection are dropped first: the caller that hears of the
      // failure finds nothing of this call queued to be sent later.
      commander.expire?.(at)
      if (remaining.retrying !== undefined) {
        const { kind } = toStoreError(remaining.retrying, operation)
        reject(new StoreError(kind === 'backend' ? 'unavailable' : kind, `redis ${operation} gave up after ${timeoutMs} ms of retries (last: ${label(remaining.retrying) || 'error'})`, { cause: remaining.retrying }))
      } else if (disconnected()) {
        reject(new StoreError('unavailable', `redis is not connected (${operation} gave up after ${timeoutMs} ms)`))
      } else {
        reject(new StoreError('timeout', `redis did not answer ${operation} within ${timeoutMs} ms`))
      }
    }, timeoutMs)
  })
  return Promise.race([running, expired])
    .catch((error: unknown) => {
      let mapped = toStoreError(error, operation)
      // A driver's own timeout while disconnected is an outage, not a slow server.
      if (mapped.kind === 'timeout' && disconnected()) {
        mapped = new StoreError('unavailable', `redis is not connected (${operation} gave up after ${timeoutMs} ms)`, { cause: error })
      }
      if (mapped.kind === 'timeout' || mapped.kind === 'unavailable') commander.trouble?.()
      throw mapped
    })
    .finally(() => {
      clearTimeout(timer)
      commander.release?.(at)
    })
}
