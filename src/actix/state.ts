/**
 * actix-session's session state as its stores keep it (the cookie store's plaintext, the Redis
 * store's value).
 *
 * Written as actix-session 0.11 writes it: a JSON object whose every value is a **JSON-encoded
 * string** (`{"counter":"1","user":"\"ferris\""}`), which 0.11 and the unreleased versioned format
 * both read. Read as actix-extras' current `storage/format.rs` reads it, a superset of 0.11:
 *
 * 1. the text must be a JSON object;
 * 2. `{"v":1,"state":{…}}` (`state` an object, `v` a number) is the versioned format: `v` must be 1;
 * 3. otherwise, an object whose values are all strings (the empty object included) is the 0.11
 *    format, each string parsed as JSON;
 * 4. otherwise the object itself is the state.
 */
import type { Json } from '../core/json.js'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The 0.11 text of a session's data. Throws only for a value JSON cannot write (the manager turns
 * that into a store error).
 *
 * @example
 * ```ts
 * encodeState({ counter: 1, user: 'ferris' }) // '{"counter":"1","user":"\\"ferris\\""}'
 * ```
 */
export function encodeState(data: Record<string, Json>): string {
  const strings: Record<string, string> = {}
  for (const [key, value] of Object.entries(data)) {
    Object.defineProperty(strings, key, { value: JSON.stringify(value), enumerable: true, writable: true, configurable: true })
  }
  return JSON.stringify(strings)
}

/**
 * The data of a stored state, or `undefined` when actix-session would fail to read it (its
 * `LoadError::Deserialization`). Never throws.
 *
 * @example
 * ```ts
 * decodeState('{"counter":"1"}')                // { counter: 1 }
 * decodeState('{"v":1,"state":{"counter":1}}')  // { counter: 1 }
 * decodeState('not json')                       // undefined
 * ```
 */
export function decodeState(text: string): Record<string, Json> | undefined {
  let parsed: unknown
  try {
    // JSON.parse defines '__proto__' as an own key, and Object.fromEntries below does too.
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isObject(parsed)) return undefined
  const { v, state } = parsed
  if (isObject(state) && typeof v === 'number') return v === 1 ? (state as Record<string, Json>) : undefined
  const entries = Object.entries(parsed)
  if (entries.every(([, value]) => typeof value === 'string')) {
    try {
      return Object.fromEntries(entries.map(([key, value]) => [key, JSON.parse(value as string) as Json]))
    } catch {
      return undefined
    }
  }
  return parsed as Record<string, Json>
}
