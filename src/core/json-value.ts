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
  return copy(key, value, key, new Set())
}

function copy(key: string, value: unknown, path: string, seen: Set<object>): Json {
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
  const object = value as object
  if (seen.has(object)) fail(key, path, 'a cycle')
  seen.add(object)
  let result: Json
  if (Array.isArray(object)) {
    const items: Json[] = new Array(object.length)
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) fail(key, `${path}[${i}]`, 'a hole in an array')
      items[i] = copy(key, object[i], `${path}[${i}]`, seen)
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
      defineOwn(out, name, copy(key, (object as Record<string, unknown>)[name], childPath, seen))
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
