import { SessionValueError } from './errors.js'
import type { Json } from './json.js'

// A lone surrogate (a high one not followed by a low one, or a low one not preceded by a high one)
// or NUL: PostgreSQL's jsonb refuses both, so no backend may be handed them.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this pattern looks for
const UNSAFE_STRING = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * True when `text` would mean the same on every backend: no NUL, no lone surrogate.
 */
export function isPortableString(text: string): boolean {
  return !UNSAFE_STRING.test(text)
}

/**
 * How many arrays or objects a session value may nest: 64. Far beyond any real session shape, and
 * well inside what every step a value takes can carry: actix-session's serde_json refuses JSON
 * nested past 128 levels, SQLite's JSON functions past 1000, and recursive JavaScript (the copy
 * made here, `JSON.stringify`, the deep freeze of `entries()`) overflows its stack in the low
 * thousands, sooner on runtimes with small stacks. A deeper value is refused at `insert`; a deeper
 * stored record reads as no session.
 *
 * @example
 * ```ts
 * session.insert('tree', deeplyNested) // throws SessionValueError past MAX_VALUE_DEPTH levels
 * ```
 */
export const MAX_VALUE_DEPTH = 64

/**
 * True when `data` (a session's key/value pairs, as a store returned them) holds a value nested
 * deeper than {@link MAX_VALUE_DEPTH}. Iterative, so a record nested any depth cannot overflow it.
 *
 * @example
 * ```ts
 * if (record !== null && tooDeep(record.data)) record = null // unreadable: no session
 * ```
 */
export function tooDeep(data: Record<string, unknown>): boolean {
  const values: unknown[] = Object.values(data)
  const levels: number[] = values.map(() => 0)
  while (values.length > 0) {
    const value = values.pop()
    const above = levels.pop() as number
    if (value === null || typeof value !== 'object') continue
    if (above + 1 > MAX_VALUE_DEPTH) return true
    for (const child of Object.values(value)) {
      values.push(child)
      levels.push(above + 1)
    }
  }
  return false
}

function fail(key: string, path: string, what: string): never {
  throw new SessionValueError(
    key,
    `cloakroom: the value at ${path} is ${what}, which JSON cannot carry unchanged; store plain objects, arrays, strings, finite numbers, booleans or null`,
  )
}

/**
 * Checks that `value` survives `JSON.stringify` → `JSON.parse` unchanged in meaning and returns a
 * deep copy of it, so later mutation of the caller's object cannot change the session behind its
 * back. Throws {@link SessionValueError} naming the offending path otherwise.
 */
export function toJsonValue(key: string, value: unknown): Json {
  if (!isPortableString(key)) fail(key, 'the key', 'a string holding NUL or a lone surrogate')
  return copy(key, value, key, new Set(), 0)
}

/** `above`: how many arrays or objects enclose `value`. */
function copy(key: string, value: unknown, path: string, seen: Set<object>, above: number): Json {
  switch (typeof value) {
    case 'string':
      if (!isPortableString(value)) fail(key, path, 'a string holding NUL or a lone surrogate')
      return value
    case 'number':
      if (!Number.isFinite(value)) fail(key, path, `the number ${value}`)
      return value
    case 'boolean':
      return value
    case 'undefined':
      return fail(key, path, 'undefined')
    case 'bigint':
      return fail(key, path, 'a bigint')
    case 'symbol':
      return fail(key, path, 'a symbol')
    case 'function':
      return fail(key, path, 'a function')
  }
  if (value === null) return null
  if (above >= MAX_VALUE_DEPTH) {
    throw new SessionValueError(
      key,
      `cloakroom: the value at ${path} is nested more than ${MAX_VALUE_DEPTH} levels deep; a session value may nest at most ${MAX_VALUE_DEPTH} arrays or objects`,
    )
  }
  const object = value as object
  if (seen.has(object)) fail(key, path, 'a cycle')
  seen.add(object)
  let result: Json
  if (Array.isArray(object)) {
    const items: Json[] = new Array(object.length)
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) fail(key, `${path}[${i}]`, 'a hole in an array')
      items[i] = copy(key, object[i], `${path}[${i}]`, seen, above + 1)
    }
    result = items
  } else {
    const proto: unknown = Object.getPrototypeOf(object)
    if (proto !== Object.prototype && proto !== null) {
      fail(key, path, `a ${(object as { constructor?: { name?: string } }).constructor?.name ?? 'class'} instance`)
    }
    if (Object.getOwnPropertySymbols(object).length > 0) fail(key, path, 'an object with symbol keys')
    const out: Record<string, Json> = {}
    for (const name of Object.keys(object)) {
      const childPath = `${path}.${name}`
      if (!isPortableString(name)) fail(key, childPath, 'a key holding NUL or a lone surrogate')
      defineOwn(out, name, copy(key, (object as Record<string, unknown>)[name], childPath, seen, above + 1))
    }
    result = out
  }
  seen.delete(object)
  return result
}

/**
 * Sets `target[name] = value` as an own data property, even for `__proto__`, where a plain
 * assignment would change the object's prototype instead.
 */
export function defineOwn(target: Record<string, Json>, name: string, value: Json): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true })
  } else {
    target[name] = value
  }
}
