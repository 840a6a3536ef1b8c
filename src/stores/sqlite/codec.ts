import { StoreError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import type { SessionRecord } from '../../core/store.js'

/**
 * A live row as the store selects it.
 */
export interface SessionRow {
  data: unknown
  created_at: unknown
  absolute_expires_at: unknown
}

/**
 * Turns a row into a record, or `null` when the row cannot be one (invalid JSON, not an object,
 * non-numeric instants): corrupt data reads as "no session" rather than an error.
 */
export function decodeRow(row: SessionRow): SessionRecord | null {
  const data = decodeData(row.data)
  const createdAt = row.created_at
  const absolute = row.absolute_expires_at
  if (data === null || typeof createdAt !== 'number' || !Number.isFinite(createdAt)) return null
  if (absolute !== null && (typeof absolute !== 'number' || !Number.isFinite(absolute))) return null
  return { data, createdAt, absoluteExpiresAt: absolute }
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
