import { StoreError } from '../../core/errors.js'
import type { StoreErrorKind } from '../../core/errors.js'

// Socket-level failures: the server is down, unreachable, or dropped us.
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
])
// SQLSTATEs that mean the server ended or refused the connection: admin/crash shutdown, starting up,
// too many connections.
const UNAVAILABLE_SQLSTATE = new Set(['57P01', '57P02', '57P03', '53300'])
// Statement cancelled (statement_timeout, or our own cancel) and lock_timeout.
const TIMEOUT_SQLSTATE = new Set(['57014', '55P03'])

function classify(error: unknown): StoreErrorKind {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.has(code) || code.startsWith('08')) return 'unavailable'
    if (TIMEOUT_SQLSTATE.has(code)) return 'timeout'
    // Class 22 (data exception) can only come from the values we pass: jsonb refusing NUL or a
    // lone surrogate, a non-integer createdAt.
    if (code.startsWith('22')) return 'encode'
  }
  const message = (error as { message?: unknown } | null)?.message
  if (typeof message === 'string') {
    // pg's own wording when the socket dies under a client or a query.
    if (/connection terminated|not queryable|connection error/i.test(message)) return 'unavailable'
    if (/timeout/i.test(message)) return 'timeout'
  }
  return 'backend'
}

/**
 * Whether an error means the connection itself is gone (so it must not go back to the pool).
 */
export function isConnectionLost(error: unknown): boolean {
  return classify(error) === 'unavailable'
}

const WHAT: Record<StoreErrorKind, string> = {
  unavailable: 'could not reach PostgreSQL or lost the connection',
  timeout: 'PostgreSQL did not answer in time',
  backend: 'PostgreSQL reported an error',
  decode: 'could not read what PostgreSQL returned',
  encode: 'PostgreSQL refused a value',
}

/**
 * Wraps a driver error in a {@link StoreError}. The message names the operation, the class of
 * failure and the SQLSTATE or errno, never the driver's own text (which can quote a value); the
 * driver error stays reachable as `cause` for the application's logs.
 */
export function toStoreError(op: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error
  const kind = classify(error)
  const code = (error as { code?: unknown } | null)?.code
  const suffix = typeof code === 'string' && /^[A-Z0-9_]{1,16}$/.test(code) ? ` (${code})` : ''
  return new StoreError(kind, `postgres ${op}: ${WHAT[kind]}${suffix}`, { cause: error })
}
