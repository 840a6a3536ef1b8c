import type { Json } from '../../core/json.js'

/**
 * A record as express-session stores it, parsed from JSON: the app's data next to `cookie`, the
 * cookie's settings (`originalMaxAge`, `expires`: an ISO date, or `null` for a browser-session
 * cookie, `path`, `httpOnly`…), whose `expires` ends the session.
 *
 * @example
 * ```ts
 * const record: ExpressSessionRecord = { cookie: { originalMaxAge: null, expires: null, path: '/' }, user: 'u1' }
 * ```
 */
export type ExpressSessionRecord = Record<string, Json>

/**
 * The record when it is a live express-session record: a JSON object whose `cookie.expires`, if
 * any, is a date still ahead. `null` for anything else (expired, malformed).
 *
 * @example
 * ```ts
 * liveRecord({ cookie: { expires: '2020-01-01T00:00:00.000Z' }, userId: 'u1' }, Date.now()) // null: expired
 * ```
 */
export function liveRecord(stored: unknown, now: number): ExpressSessionRecord | null {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return null
  const record = stored as ExpressSessionRecord
  const cookie: unknown = record['cookie']
  if (cookie === undefined || cookie === null) return record
  if (typeof cookie !== 'object' || Array.isArray(cookie)) return null
  // A store that parsed dates back (a custom serializer) holds a Date; JSON stores hold its ISO text.
  const expires: unknown = (cookie as { expires?: unknown }).expires
  if (expires === undefined || expires === null) return record
  const at = expires instanceof Date ? expires.getTime() : typeof expires === 'string' ? Date.parse(expires) : Number.NaN
  // Unreadable counts as expired: express-session itself would not have loaded it.
  return Number.isFinite(at) && at > now ? record : null
}

/** The default `mapData`: every key but `cookie`, which is express-session's and means nothing to cloakroom. */
export function withoutCookie(record: ExpressSessionRecord): Record<string, Json> {
  const data: Record<string, Json> = {}
  for (const key of Object.keys(record)) {
    const value = record[key]
    if (key !== 'cookie' && value !== undefined) Object.defineProperty(data, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return data
}
