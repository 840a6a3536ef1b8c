import { randomId, storageKey } from '../shared/ids.js'

// 6 random bytes = 8 base64url characters: enough to spread sessions over all 16,384 cluster slots.
const TAG_BYTES = 6
const FOREIGN_TAG_CHARS = 8
// A tag is base64url, so it never holds the `{`, `}` or `.` that delimit it.
const ID_PATTERN = /^([A-Za-z0-9_-]{6,8})\.[A-Za-z0-9_-]{22,128}$/

/**
 * A new session id: `<tag>.<randomId()>`. The lineage tag is fresh unless given, and renew passes
 * the old id's tag so that the old and new keys share a Redis Cluster slot.
 */
export function newSessionId(tag: string = randomId(TAG_BYTES)): string {
  return `${tag}.${randomId()}`
}

/**
 * The lineage tag of a well-formed id, or `null` for anything we could not have issued (which then
 * names no record; see {@link foreignTag}).
 *
 * @example
 * ```ts
 * tagOf('Xk3_a9Qp.q3J…') // 'Xk3_a9Qp'
 * tagOf('forged')         // null
 * ```
 */
export function tagOf(id: string): string | null {
  return ID_PATTERN.exec(id)?.[1] ?? null
}

/**
 * The Redis key of a session: `<prefix>{<tag>}<sha256(id)>`. The braces make the tag the Redis
 * Cluster hash tag; the same format is used standalone so data survives a move to a cluster. Only
 * the tag and a hash of the id reach Redis, never the id itself.
 */
export function redisKey(prefix: string, id: string, tag: string): string {
  return keyOfHash(prefix, tag, storageKey(id))
}

/**
 * The Redis key of a session known by its storage hash alone (what a forwarding marker names).
 *
 * @example
 * ```ts
 * keyOfHash('cloakroom:', 'Xk3_a9Qp', '3q2…') // 'cloakroom:{Xk3_a9Qp}3q2…'
 * ```
 */
export function keyOfHash(prefix: string, tag: string, hash: string): string {
  return `${prefix}{${tag}}${hash}`
}

/**
 * The hash tag for an id the store could not have issued (no lineage tag): the start of its
 * storage hash. Such an id names no record, but `delete` still leaves a purge marker under it, and
 * a write then answers `GONE`; deriving the tag from the hash spreads those markers over the
 * Cluster slots like real ones. The key still ends in the id's full hash, so it never meets
 * another id's key.
 *
 * @example
 * ```ts
 * const tag = tagOf(id) ?? foreignTag(id)
 * ```
 */
export function foreignTag(id: string): string {
  return storageKey(id).slice(0, FOREIGN_TAG_CHARS)
}

/**
 * The hash that stands for a user id in key names: SHA-256 of the id, base64url. User ids are
 * personal data, so they never appear in a key name (keys show up in `SCAN`, `MONITOR`, slow logs
 * and metrics); the records hold them in a field, and that is the truth a listing checks.
 */
function userHash(userId: string): string {
  return storageKey(userId)
}

/**
 * The key of a user's session index: `<prefix>u:{<sha256(userId)>}`, a hash from each filed
 * session's handle to its record's key. The braces make the user's hash the Cluster hash tag, so the
 * whole index lives in one slot, whatever slots its sessions live in.
 */
export function indexKey(prefix: string, userId: string): string {
  return `${prefix}u:{${userHash(userId)}}`
}

/**
 * The key of a user's revocation mark: `<prefix>r:{<sha256(userId)>}`, a string holding the mark
 * as JSON.
 */
export function revocationKey(prefix: string, userId: string): string {
  return `${prefix}r:{${userHash(userId)}}`
}

// What an index entry holds: a session key without its prefix, `{<tag>}<sha256(id)>`.
const REF_PATTERN = /^\{([A-Za-z0-9_-]{6,8})\}([A-Za-z0-9_-]{43})$/

/**
 * A session key as an index entry holds it: without the store's prefix (so a copied or renamed
 * prefix never leaves entries pointing elsewhere, and ioredis' `keyPrefix` never doubles).
 */
export function refOf(prefix: string, key: string): string {
  return key.slice(prefix.length)
}

/**
 * The session key an index entry names, and its hash tag; `null` for an entry we could not have
 * written (it is then dropped as stale).
 */
export function keyOfRef(prefix: string, ref: string): { key: string; tag: string } | null {
  const match = REF_PATTERN.exec(ref)
  if (match === null) return null
  return { key: `${prefix}${ref}`, tag: match[1] as string }
}
