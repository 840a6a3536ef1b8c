import { StoreError } from '../../core/errors.js'
import type { SessionOwner } from '../../core/store.js'

// The owner lives in the session's own hash, next to its data, so that every script that moves or
// ends a record (renew's RENAME, delete's DEL) moves or ends the filing with it. No session key can
// reach an `o:` field: data fields are `d:<key>`.
const USER = 'o:user'
const HANDLE = 'o:handle'
const SEEN = 'o:seen'
const INFO = 'o:info'

/** The hash fields that hold a record's owner; a change set that unfiles a session removes them. */
export const OWNER_FIELDS: readonly string[] = [USER, HANDLE, SEEN, INFO]

/**
 * The field/value pairs that file a record under `owner` (appended to a script's set pairs).
 * Refuses an owner the manager could not have made, without naming the user id (personal data).
 */
export function ownerArgs(owner: SessionOwner): string[] {
  const { userId, handle, lastSeenAt, info } = owner
  if (typeof userId !== 'string' || typeof handle !== 'string' || handle === '' || !Number.isFinite(lastSeenAt)) {
    throw new StoreError('encode', 'a session owner needs a string userId, a non-empty handle and a finite lastSeenAt')
  }
  if (info === null || typeof info !== 'object' || Object.values(info).some((value) => typeof value !== 'string')) {
    throw new StoreError('encode', 'a session owner\'s info must map names to strings')
  }
  return [USER, userId, HANDLE, handle, SEEN, String(lastSeenAt), INFO, JSON.stringify(info)]
}

/** Whether a hash field is one of the owner's. */
export function isOwnerField(field: string): boolean {
  return field.startsWith('o:')
}

/**
 * The owner held in a record's `o:` fields (as collected from HGETALL), `undefined` when the record
 * is not filed, or `null` when the fields are there but unreadable (the record is then treated as
 * corrupt, like unparsable data).
 */
export function decodeOwner(fields: ReadonlyMap<string, string>): SessionOwner | undefined | null {
  const userId = fields.get(USER)
  if (userId === undefined) return undefined
  const handle = fields.get(HANDLE)
  const lastSeenAt = Number(fields.get(SEEN))
  const infoText = fields.get(INFO)
  if (handle === undefined || !Number.isFinite(lastSeenAt) || infoText === undefined) return null
  let info: unknown
  try {
    info = JSON.parse(infoText)
  } catch {
    return null
  }
  if (info === null || typeof info !== 'object' || Array.isArray(info)) return null
  // JSON.parse defines `__proto__` as an own key, and the spread copies it as one.
  const entries = Object.entries(info as Record<string, unknown>)
  if (entries.some(([, value]) => typeof value !== 'string')) return null
  return { userId, handle, lastSeenAt, info: { ...(info as Record<string, string>) } }
}
