import { StoreError } from '../../core/errors.js'

/**
 * What the reader needs of an express-session store: its callback-style `get` and `destroy`.
 * Every express-session store has them (connect-redis, connect-pg-simple, connect-mongo…).
 *
 * @example
 * ```ts
 * const store: ExpressSessionStore = new RedisStore({ client }) // connect-redis
 * ```
 */
export interface ExpressSessionStore {
  get(sid: string, callback: (error: unknown, session?: unknown) => void): unknown
  destroy(sid: string, callback?: (error?: unknown) => void): unknown
}

/** The store calls the reader makes, promise-style. */
export interface OldStore {
  get(sid: string): Promise<unknown>
  /** Deletes the record; resolves whether this call deleted it (the claim). */
  claim(sid: string): Promise<boolean>
}

/** How long a claim made in this process is remembered, and how many, where the store cannot arbitrate. */
const CLAIM_MEMORY_MS = 10 * 60_000
const CLAIM_MEMORY_SIZE = 100_000

function failure(call: string, error: unknown): StoreError {
  return error instanceof StoreError ? error : new StoreError('backend', `the express-session store failed to ${call} a session`, { cause: error })
}

/** Calls a callback-style store method as a promise, settled once even if the store calls back twice. */
function called<T>(call: string, run: (callback: (error: unknown, value?: T) => void) => unknown): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    let settled = false
    const callback = (error: unknown, value?: T): void => {
      if (settled) return
      settled = true
      if (error) reject(failure(call, error))
      else resolve(value)
    }
    try {
      const returned = run(callback)
      // connect-redis also returns a promise; a rejection it does not pass to the callback still counts.
      if (returned instanceof Promise) returned.catch((error: unknown) => callback(error ?? new Error('rejected')))
    } catch (error) {
      callback(error ?? new Error('threw'))
    }
  })
}

/** A connect-redis `RedisStore`: its client and key prefix are public, so a claim can be one atomic `DEL`. */
interface ConnectRedisLike {
  prefix: string
  client: { del(key: string): Promise<unknown> }
}

function isConnectRedis(store: object): store is ConnectRedisLike {
  const candidate = store as Partial<ConnectRedisLike>
  return typeof candidate.prefix === 'string' && typeof candidate.client === 'object' && candidate.client !== null && typeof candidate.client.del === 'function'
}

/**
 * Claims by `destroy` where the store cannot say whether it deleted anything: a claim made in this
 * process in the last ten minutes is not made twice, so concurrent requests to one process migrate
 * once; requests to two processes racing on one old cookie can both migrate it.
 */
function rememberingClaims(destroy: (sid: string) => Promise<void>): (sid: string) => Promise<boolean> {
  const claimed = new Map<string, number>()
  return async (sid) => {
    const now = Date.now()
    for (const [old, at] of claimed) {
      if (at > now - CLAIM_MEMORY_MS && claimed.size < CLAIM_MEMORY_SIZE) break
      claimed.delete(old)
    }
    if (claimed.has(sid)) return false
    claimed.set(sid, now)
    try {
      await destroy(sid)
    } catch (error) {
      claimed.delete(sid)
      throw error
    }
    return true
  }
}

/**
 * The reader's view of the app's express-session store. A claim is the arbiter of exactly-once
 * migration: `claim` when given (it must delete the record and resolve whether it did), else one
 * `DEL` for connect-redis (its reply counts the keys it removed), else `destroy` with the claims of
 * this process remembered.
 *
 * @example
 * ```ts
 * const old = oldStore(new RedisStore({ client }))
 * if (await old.claim(sid)) migrate(await old.get(sid))
 * ```
 */
export function oldStore(store: ExpressSessionStore, claim?: (sid: string) => Promise<boolean>): OldStore {
  const get = (sid: string): Promise<unknown> =>
    called<unknown>('read', (callback) =>
      // A record the store cannot parse (connect-redis hands JSON.parse's SyntaxError to the
      // callback) is unreadable data, not a failing store: no session, not a 500 on every request.
      store.get(sid, (error, value) => (error instanceof SyntaxError ? callback(null, null) : callback(error, value))),
    )
  if (claim !== undefined) {
    return { get, claim: (sid) => claim(sid).catch((error: unknown) => Promise.reject(failure('delete', error))) }
  }
  if (isConnectRedis(store)) {
    const { client, prefix } = store
    return {
      get,
      claim: (sid) =>
        client.del(prefix + sid).then(
          (removed) => Number(removed) > 0,
          (error: unknown) => Promise.reject(failure('delete', error)),
        ),
    }
  }
  return { get, claim: rememberingClaims((sid) => called<void>('delete', (callback) => store.destroy(sid, callback)).then(() => undefined)) }
}
