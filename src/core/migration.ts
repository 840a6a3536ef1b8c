import { toJsonValue } from './json-value.js'
import type { Json } from './json.js'
import { fingerprint, type Logger } from './logger.js'

/**
 * A reader for the cookie and records of the session library an app used before cloakroom, for
 * the `migrateFrom` option. During a transition window, a request that carries the old cookie and
 * no cloakroom session gets the old session's data moved into a new cloakroom session; the old
 * record is deleted and the old cookie cleared. `cloakroom/express-session` provides one for
 * express-session; another library's cookies can be read by implementing this interface.
 *
 * The manager calls `read` when the request's session is first loaded and finds no cloakroom
 * record, then `claim` at commit: only a request whose `claim` resolves `true` keeps the migrated
 * data, so two concurrent requests with the same old cookie cannot both create a session holding
 * it. A response that commits nothing (a 5xx, a store failure) leaves the old cookie and record
 * alone, so the migration is tried again on the next request.
 *
 * @example
 * ```ts
 * import { createSessionManager } from 'cloakroom'
 * import { expressSession } from 'cloakroom/express-session'
 *
 * const manager = createSessionManager({
 *   store,
 *   keys: [process.env.SESSION_KEY!],
 *   migrateFrom: expressSession({ secret: process.env.OLD_SESSION_SECRET!, store: oldRedisStore }),
 * })
 * ```
 */
export interface SessionMigration {
  /** The old cookie's name, read from the request's `Cookie` header (e.g. `'connect.sid'`). */
  readonly cookieName: string
  /** The `Set-Cookie` line that clears the old cookie (same name, path and domain it was set with). */
  readonly removal: string
  /**
   * The old session's data, ready to be stored in cloakroom; `null` when the value does not verify,
   * is malformed or oversized, or names a record that is missing, expired or unreadable. Never
   * rejects for bad input; rejects when the old store fails.
   */
  read(cookieValue: string): Promise<Record<string, Json> | null>
  /**
   * Deletes the record the value names; resolves `true` when this call removed it (the claim that
   * lets a request keep the migrated data), `false` when it was already gone or the value does not
   * verify. Rejects when the old store fails.
   */
  claim(cookieValue: string): Promise<boolean>
}

/**
 * The data of the old session `oldCookie` names, checked as JSON (the reader is not trusted with
 * that: the data becomes the request's writes as it is); `null` for none. Rejects when the old
 * store fails. Logs carry a fingerprint of the cookie, never the cookie or the old id.
 *
 * @example
 * ```ts
 * const data = await readOldSession(migration, oldCookie, logger) // { user: 'ada' } or null
 * ```
 */
export async function readOldSession(migration: SessionMigration, oldCookie: string, logger: Logger): Promise<Record<string, Json> | null> {
  const data = await migration.read(oldCookie)
  if (data === null) {
    logger.debug(`cloakroom: an old session cookie (migrateFrom) named no session to migrate [${fingerprint(oldCookie)}]`)
    return null
  }
  let copy: Json
  try {
    copy = toJsonValue('(migrated session)', data)
  } catch {
    copy = null
  }
  if (copy !== null && typeof copy === 'object' && !Array.isArray(copy)) return copy
  logger.debug(`cloakroom: ignored an old session (migrateFrom) whose data is not a JSON object [${fingerprint(oldCookie)}]`)
  return null
}
