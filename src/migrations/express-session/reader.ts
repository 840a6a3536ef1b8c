import { stringifySetCookie } from 'cookie'
import { ConfigError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import type { SessionMigration } from '../../core/migration.js'
import { liveRecord, withoutCookie, type ExpressSessionRecord } from './old-record.js'
import { oldStore, type ExpressSessionStore } from './old-store.js'
import { importSecrets, verifiedSid, type OldSecret } from './signed-cookie.js'

/**
 * Options of {@link expressSession}: what the express-session app was configured with.
 *
 * @example
 * ```ts
 * const options: ExpressSessionOptions = { secret: [process.env.OLD_SECRET!], store: new RedisStore({ client }), name: 'sid', cookie: { path: '/app' } }
 * ```
 */
export interface ExpressSessionOptions {
  /** express-session's `secret`: one, or several (any verifies; the first was the one signing). */
  secret: OldSecret | readonly OldSecret[]
  /** The app's express-session store instance, e.g. connect-redis's `new RedisStore({ client })`. */
  store: ExpressSessionStore
  /** express-session's `name` [`'connect.sid'`]. */
  name?: string
  /** Where the old cookie was set, so that clearing it reaches it: express-session's `cookie` options `path` [`'/'`], `domain`, `secure`, `sameSite`. */
  cookie?: { path?: string; domain?: string; secure?: boolean; sameSite?: 'lax' | 'strict' | 'none' }
  /**
   * Turns the old record into the new session's data: rename keys, drop some, or return `null` to
   * migrate nothing (the user logs in again). Default: every key but `cookie` (express-session's
   * own). It is given the record as stored, `cookie` included; it runs only for a live record.
   */
  mapData?: (record: ExpressSessionRecord) => Record<string, Json> | null
  /**
   * Deletes the record of `sid` and resolves whether this call deleted it: the claim that lets
   * exactly one request migrate a session. Default: one `DEL` for connect-redis; for other stores,
   * `destroy`, with the claims of this process remembered (two processes racing on one old cookie
   * can then both migrate it: give a `claim` built on the store's own atomic delete to close that).
   */
  claim?: (sid: string) => Promise<boolean>
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function secretsOf(secret: ExpressSessionOptions['secret']): OldSecret[] {
  const list: readonly unknown[] = Array.isArray(secret) ? secret : [secret]
  if (list.length === 0 || !list.every((s) => (typeof s === 'string' || s instanceof Uint8Array) && s.length > 0)) {
    throw new ConfigError("expressSession({ secret }) must be the express-session app's secret: a non-empty string, or an array of them")
  }
  return list as OldSecret[]
}

/**
 * Reads the sessions of an express-session app, for cloakroom's `migrateFrom` option: during a
 * transition window, a request carrying a `connect.sid` cookie signed with the app's `secret` and
 * no cloakroom session gets the old session's data in a new cloakroom session (a new id: the old
 * one is worthless), the old record is deleted from the store and the old cookie cleared. A
 * forged, malformed or oversized cookie, or a record that is missing or past its
 * `cookie.expires`, migrates nothing. Remove the option once the window is over.
 *
 * Works with every express-session store; with connect-redis, the record's deletion is one atomic
 * `DEL` that only one request can win, so a user migrates exactly once even across processes.
 * Runs wherever WebCrypto does.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * import { RedisStore as OldRedisStore } from 'connect-redis'
 * import { sessions } from 'cloakroom/express'
 * import { RedisStore } from 'cloakroom/redis'
 * import { expressSession } from 'cloakroom/express-session'
 *
 * const client = await createClient().connect()
 * app.use(
 *   sessions({
 *     store: new RedisStore({ client }),
 *     keys: [process.env.SESSION_KEY!],
 *     migrateFrom: expressSession({
 *       secret: process.env.OLD_SESSION_SECRET!,
 *       store: new OldRedisStore({ client }),
 *       // passport kept the user at passport.user; the app now reads userId
 *       mapData: ({ passport }) => ({ userId: (passport as { user: string }).user }),
 *     }),
 *   }),
 * )
 * ```
 */
export function expressSession(options: ExpressSessionOptions): SessionMigration {
  if (options === null || typeof options !== 'object') throw new ConfigError('expressSession() needs { secret, store }: the secret and store of the express-session app')
  const keys = importSecrets(secretsOf(options.secret))
  const { store, mapData = withoutCookie, claim } = options
  if (store === null || typeof store !== 'object' || typeof store.get !== 'function' || typeof store.destroy !== 'function') {
    throw new ConfigError('expressSession({ store }) must be the express-session store instance the app used, e.g. new RedisStore({ client }) from connect-redis')
  }
  if (typeof mapData !== 'function') throw new ConfigError('expressSession({ mapData }) must be a function (record) => data or null')
  if (claim !== undefined && typeof claim !== 'function') throw new ConfigError('expressSession({ claim }) must be a function (sid) => Promise<boolean>')
  const name = options.name ?? 'connect.sid'
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) throw new ConfigError(`expressSession({ name }) must be the old cookie's name, e.g. 'connect.sid' (got ${JSON.stringify(name)})`)
  const { path = '/', domain, secure = false, sameSite } = options.cookie ?? {}
  const removal = stringifySetCookie(name, '', { path, domain, secure, sameSite, httpOnly: true, maxAge: 0, expires: new Date(0) })
  const old = oldStore(store, claim)
  const sidOf = async (value: string): Promise<string | null> => verifiedSid(value, await keys())

  return {
    cookieName: name,
    removal,
    async read(value) {
      const sid = await sidOf(value)
      if (sid === null) return null
      const record = liveRecord(await old.get(sid), Date.now())
      if (record === null) return null
      const data = mapData(record)
      return data !== null && typeof data === 'object' && !Array.isArray(data) ? data : null
    },
    async claim(value) {
      const sid = await sidOf(value)
      return sid === null ? false : old.claim(sid)
    },
  }
}
