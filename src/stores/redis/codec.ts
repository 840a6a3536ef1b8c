import type { Json } from '../../core/json.js'
import type { ChangeSet, SessionRecord } from '../../core/store.js'
import { StoreError } from '../../core/errors.js'
import { OWNER_FIELDS, decodeOwner, isOwnerField, ownerArgs } from './owner-codec.js'
import { HASH_CHARS } from './scripts.js'

const DATA = 'd:'

function encodeValue(value: Json): string {
  const text = JSON.stringify(value)
  // JSON.stringify returns undefined for what JSON cannot carry; the session refuses such values, so
  // this is a caller that bypassed it. The message names no key: keys can be personal data too.
  if (typeof text !== 'string') throw new StoreError('encode', 'a session value cannot be written as JSON')
  return text
}

/** The hash field that holds a data key. */
export function dataField(key: string): string {
  return DATA + key
}

/** A data field's value as a script returned it (JSON text). */
export function decodeValue(reply: unknown): Json {
  const text = typeof reply === 'string' ? reply : reply instanceof Uint8Array ? new TextDecoder().decode(reply) : undefined
  try {
    if (text !== undefined) return JSON.parse(text) as Json
  } catch (error) {
    throw new StoreError('decode', 'redis take read a value that is not JSON', { cause: error })
  }
  throw new StoreError('decode', 'redis take got a reply its script never gives')
}

/**
 * The field/value pairs of a record's data, as the scripts' ARGV tail.
 */
export function dataArgs(data: Readonly<Record<string, Json>>): string[] {
  const args: string[] = []
  for (const key of Object.keys(data)) args.push(DATA + key, encodeValue(data[key] as Json))
  return args
}

/**
 * The ARGV of the apply and renew scripts: ttl, clear flag, removal count, removed fields, set pairs.
 * The owner rides along as fields: removed to unfile (`owner: null`), set to file or refresh.
 */
export function changeArgs(ttlMs: number, changes: ChangeSet): string[] {
  // A key both removed and set ends up set (remove runs first), so removing it is wasted work.
  const removals = changes.remove.filter((key) => !Object.hasOwn(changes.set, key)).map((key) => DATA + key)
  if (changes.owner === null) removals.push(...OWNER_FIELDS)
  const sets = dataArgs(changes.set)
  if (changes.owner) sets.push(...ownerArgs(changes.owner))
  return [ttlArg(ttlMs), changes.clear ? '1' : '0', String(removals.length), ...removals, ...sets]
}

/**
 * A TTL in whole milliseconds, at least 1 (Redis refuses a zero or negative expiry window here).
 */
export function ttlArg(ttlMs: number): string {
  if (!Number.isFinite(ttlMs)) throw new StoreError('encode', 'ttlMs must be a finite number of milliseconds')
  return String(Math.max(1, Math.ceil(ttlMs)))
}

function setOwn(target: Record<string, Json>, key: string, value: Json): void {
  // `__proto__` is a legal session key; plain assignment would change the prototype instead.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/**
 * The field/value pairs of an HGETALL reply (a flat array, or a `Map` or object under RESP3), or
 * `null` when the reply is none of these.
 */
export function fieldPairs(reply: unknown): [string, string][] | null {
  if (Array.isArray(reply)) {
    const out: [string, string][] = []
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])])
    return out
  }
  if (reply instanceof Map) return [...reply].map(([k, v]) => [String(k), String(v)])
  if (reply !== null && typeof reply === 'object') {
    return Object.entries(reply as Record<string, unknown>).map(([k, v]) => [k, String(v)])
  }
  return null
}

/**
 * Turns an HGETALL reply (flat array, `Map` under RESP3, or object) into a record. A missing hash,
 * a forwarding marker, or anything corrupt gives `null`: unreadable data is treated as absent.
 */
export function decodeRecord(reply: unknown): SessionRecord | null {
  const fields = fieldPairs(reply)
  if (fields === null) return null
  const data: Record<string, Json> = {}
  const ownerFields = new Map<string, string>()
  let createdAt: number | null = null
  let absoluteExpiresAt: number | null = null
  try {
    for (const [field, value] of fields) {
      if (field.startsWith(DATA)) setOwn(data, field.slice(DATA.length), JSON.parse(value) as Json)
      else if (isOwnerField(field)) ownerFields.set(field, value)
      else if (field === 'm:created') createdAt = Number(value)
      else if (field === 'm:abs') absoluteExpiresAt = Number(value)
      else if (field === 'm:fwd' || field === 'm:gone') return null
    }
  } catch {
    return null
  }
  if (createdAt === null || !Number.isFinite(createdAt)) return null
  if (absoluteExpiresAt !== null && !Number.isFinite(absoluteExpiresAt)) return null
  const owner = decodeOwner(ownerFields)
  if (owner === null) return null
  const record: SessionRecord = { data, createdAt, absoluteExpiresAt }
  if (owner !== undefined) record.owner = owner
  return record
}

/**
 * The field/value pairs of a new record: its data, then its owner's fields when it is filed.
 */
export function recordArgs(record: SessionRecord): string[] {
  const args = dataArgs(record.data)
  if (record.owner !== undefined) args.push(...ownerArgs(record.owner))
  return args
}

const HASH_TAIL = new RegExp(`^[A-Za-z0-9_-]{${HASH_CHARS}}$`)

/**
 * The storage hash a forwarding marker names (the last {@link HASH_CHARS} characters of the key it
 * holds, so a driver's own key prefix never doubles), or `null` when the reply is no such marker.
 */
export function forwardOf(reply: unknown): string | null {
  for (const [field, value] of fieldPairs(reply) ?? []) {
    if (field !== 'm:fwd') continue
    const hash = value.slice(-HASH_CHARS)
    return HASH_TAIL.test(hash) ? hash : null
  }
  return null
}
