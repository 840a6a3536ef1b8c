import { StoreError } from '../../core/errors.js'

const BUSY = /^SQLITE_(BUSY|LOCKED)/
const UNAVAILABLE = /^SQLITE_(CANTOPEN|IOERR|NOTADB|CORRUPT|FULL|READONLY|PERM|AUTH)/

/**
 * Wraps whatever the driver threw in a {@link StoreError}: lock waits past the busy timeout become
 * `'timeout'`, a closed or unreadable database `'unavailable'`, the rest `'backend'`. The message
 * names the operation and SQLite's error code, never a key, id or value; the driver's error is the
 * `cause`.
 */
export function toStoreError(operation: string, error: unknown, timeoutMs: number): StoreError {
  if (error instanceof StoreError) return error
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : ''
  if (BUSY.test(code)) {
    return new StoreError('timeout', `sqlite ${operation} waited over ${timeoutMs} ms for a lock (${code})`, { cause: error })
  }
  // better-sqlite3 throws a TypeError without a code once the connection is closed.
  if (UNAVAILABLE.test(code) || (error instanceof TypeError && /not open/i.test(error.message))) {
    return new StoreError('unavailable', `sqlite ${operation} failed: the database cannot be used (${code || 'closed'})`, { cause: error })
  }
  if (error instanceof Error && /no such table/i.test(error.message)) {
    return new StoreError('backend', `sqlite ${operation} failed: the sessions table is missing; call store.migrate() first`, { cause: error })
  }
  return new StoreError('backend', `sqlite ${operation} failed (${code || 'error'})`, { cause: error })
}
