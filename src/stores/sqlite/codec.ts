import { StoreError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import type { SessionRecord, UserSessionEntry } from '../../core/store.js'
import { decodeOwner } from '../shared/owner.js'

/**
 * A live row as the store selects it.
 */
export interface SessionRow {
  data: unknown
  created_at: unknown
  absolute_expires_at: unknown
  user_id: unknown
  user_handle: unknown
  last_seen_at: unknown
  user_info: unknown
}

/**
 * Turns a row into a record, or `null` when the row cannot be one (invalid JSON, not an object,
 * non-numeric instants): corrupt data reads as "no session" rather than an error. The owner comes
 * along when the row is filed (and readable: see `decodeOwner`).
 */
export function decodeRow(row: SessionRow): SessionRecord | null {
  const data = decodeData(row.data)
  const createdAt = row.created_at
  const absolute = row.absolute_expires_at
  if (data === null || typeof createdAt !== 'number' || !Number.isFinite(createdAt)) return null
  if (absolute !== null && (typeof absolute !== 'number' || !Number.isFinite(absolute))) return null
  const record: SessionRecord = { data, createdAt, absoluteExpiresAt: absolute }
  const owner = decodeOwner(row.user_id, row.user_handle, row.last_seen_at, row.user_info)
  if (owner !== undefined) record.owner = owner
  return record
}

/**
 * Parses the `data` column: a JSON object, or `null` when it is anything else.
 */
export function decodeData(text: unknown): Record<string, Json> | null {
  if (typeof text !== 'string') return null
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, Json>) : null
}

/**
 * Serialises a value for SQLite, refusing what JSON cannot carry (the manager validates values
 * first; this guards stores used directly).
 */
export function encodeJson(value: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (error) {
    throw new StoreError('encode', 'sqlite store cannot serialise a session value as JSON', { cause: error })
  }
  if (text === undefined) throw new StoreError('encode', 'sqlite store cannot serialise a session value as JSON')
  return text
}

/**
 * A row of the per-user listing as the store selects it.
 */
export interface UserSessionRow {
  user_handle: unknown
  created_at: unknown
  last_seen_at: unknown
  expires_at: unknown
  user_info: unknown
}

/**
 * Turns a listing row of `userId` into an entry, or `null` when its columns cannot be what the store
 * wrote (such a row loads as unfiled, so it is not listed either).
 */
export function decodeEntry(userId: string, row: UserSessionRow): UserSessionEntry | null {
  const owner = decodeOwner(userId, row.user_handle, row.last_seen_at, row.user_info)
  const { created_at: createdAt, expires_at: expiresAt } = row
  if (owner === undefined || typeof createdAt !== 'number' || typeof expiresAt !== 'number') return null
  return { handle: owner.handle, createdAt, lastSeenAt: owner.lastSeenAt, expiresAt, info: owner.info }
}
