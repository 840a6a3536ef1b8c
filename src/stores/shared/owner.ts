import type { SessionOwner } from '../../core/store.js'

/**
 * The values of the SQL stores' owner columns (`user_id`, `user_handle`, `last_seen_at`,
 * `user_info` as JSON text) for a write: the owner's fields, or four `null`s to unfile.
 */
export function ownerValues(owner: SessionOwner | null | undefined): [string | null, string | null, number | null, string | null] {
  if (owner === null || owner === undefined) return [null, null, null, null]
  return [owner.userId, owner.handle, owner.lastSeenAt, JSON.stringify(owner.info)]
}

/**
 * Reads the owner columns back. `undefined` when the row is unfiled, and also when a column cannot
 * be what the store wrote (edited by hand, or damaged): such a row loads as an unfiled session
 * rather than failing, and the manager files it again on its next write.
 */
export function decodeOwner(userId: unknown, handle: unknown, lastSeenAt: unknown, info: unknown): SessionOwner | undefined {
  if (typeof userId !== 'string' || typeof handle !== 'string' || typeof info !== 'string') return undefined
  // PostgreSQL's bigint comes back as text (the store casts it so app-side type parsers cannot interfere).
  const seen = typeof lastSeenAt === 'string' ? Number(lastSeenAt) : lastSeenAt
  if (typeof seen !== 'number' || !Number.isFinite(seen)) return undefined
  const parsed = parseInfo(info)
  return parsed === undefined ? undefined : { userId, handle, lastSeenAt: seen, info: parsed }
}

function parseInfo(text: string): Record<string, string> | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const info: Record<string, string> = {}
  for (const [key, field] of Object.entries(value)) {
    if (typeof field !== 'string') return undefined
    // Own data properties, so an info key named "__proto__" stays a key.
    Object.defineProperty(info, key, { value: field, enumerable: true, writable: true, configurable: true })
  }
  return info
}
