import { StoreError } from '../../core/errors.js'
import { isConnectionLost, toStoreError } from './errors.js'
import type { PgPool, PgPoolClient, PgQuery, PgResult } from './types.js'

/**
 * Runs queries on one pooled connection within a single deadline.
 */
export type RunQuery = (query: PgQuery) => Promise<PgResult>

function timeoutError(op: string, timeoutMs: number): StoreError {
  return new StoreError('timeout', `postgres ${op}: PostgreSQL did not answer within ${timeoutMs} ms`)
}

const ignore = (): void => {}

/**
 * Checks a connection out of `pool`, hands `fn` a query function, and releases the connection.
 * The whole call (waiting for a pooled connection included) is bounded by `timeoutMs`: `pg`'s own
 * `query_timeout` does not cover the wait for a connection and leaves the statement running on the
 * server, so this races one timer instead. On expiry the connection is closed and its statement is
 * cancelled on the server (best effort), so a timed-out write does not land later.
 */
export async function withConnection<T>(
  pool: PgPool,
  timeoutMs: number,
  op: string,
  fn: (query: RunQuery) => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  let expired = false
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true
      reject(timeoutError(op, timeoutMs))
    }, timeoutMs)
  })
  deadline.catch(ignore)

  let client: PgPoolClient | undefined
  let socketError: Error | undefined
  let unsettled = 0
  // A socket that dies while we hold the connection makes pg emit 'error'; unheard, that would
  // crash the process. Note it, and have the pool close the connection on release.
  const onError = (err: Error): void => {
    socketError ??= err
  }
  try {
    const connecting = pool.connect()
    connecting.then((late) => {
      if (expired && late !== client) late.release()
    }, ignore)
    client = await Promise.race([connecting, deadline])
    client.on?.('error', onError)
    const held = client
    const query: RunQuery = (q) => {
      if (socketError !== undefined) return Promise.reject(socketError)
      const pending = held.query(q)
      unsettled++
      const settle = (): void => {
        unsettled--
      }
      pending.then(settle, (error: unknown) => {
        settle()
        // pg may hand back a connection whose server ended it before the socket's close is seen.
        if (isConnectionLost(error) && error instanceof Error) socketError ??= error
      })
      return Promise.race([pending, deadline])
    }
    return await fn(query)
  } catch (error) {
    throw toStoreError(op, error)
  } finally {
    clearTimeout(timer)
    if (client !== undefined) {
      client.removeListener?.('error', onError)
      const abandoned = expired && unsettled > 0
      if (abandoned) cancelOnServer(pool, client.processID, timeoutMs)
      // An abandoned statement or a dead socket: let the pool close this connection, not reuse it.
      client.release(socketError ?? abandoned)
    }
  }
}

// Closing our socket does not stop a statement that is waiting on a lock: PostgreSQL notices the
// closed socket only when it tries to answer, after the write has committed. Ask it to cancel.
function cancelOnServer(pool: PgPool, pid: number | null | undefined, timeoutMs: number): void {
  if (typeof pid !== 'number') return
  withConnection(pool, timeoutMs, 'cancel', (query) =>
    query({ text: 'SELECT pg_cancel_backend($1)', values: [pid] }),
  ).catch(ignore)
}
