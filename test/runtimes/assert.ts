/**
 * The part of `node:assert/strict` the portable suites use, written against the language alone:
 * workerd has no `node:assert` without the `nodejs_compat` flag, and the worker bundle must carry no
 * `node:` import at all. The worker build substitutes this module for `node:assert/strict`; the
 * portable cases import it directly, so they assert the same way on every runtime.
 *
 * @module
 */

/** Thrown by a failed assertion, like node's `AssertionError`. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError'
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function' || typeof value === 'symbol') return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime())
  if (a instanceof RegExp && b instanceof RegExp) return String(a) === String(b)
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    return x.length === y.length && x.every((byte, i) => byte === y[i])
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  if (keysA.length !== keysB.length) return false
  const record = b as Record<string, unknown>
  return keysA.every((key) => Object.prototype.hasOwnProperty.call(b, key) && isDeepStrictEqual((a as Record<string, unknown>)[key], record[key]))
}

function fail(message: string | Error | undefined, fallback: string): never {
  if (message instanceof Error) throw message
  throw new AssertionError(message ?? fallback)
}

type Expected = RegExp | (new (...args: never[]) => unknown) | ((error: unknown) => boolean)

function matches(error: unknown, expected: Expected | undefined): boolean {
  if (expected === undefined) return true
  if (expected instanceof RegExp) return expected.test(error instanceof Error ? error.message : String(error))
  if (expected.prototype !== undefined && (expected.prototype instanceof Error || expected === Error)) {
    return error instanceof (expected as new (...args: never[]) => unknown)
  }
  return (expected as (error: unknown) => boolean)(error) === true
}

/**
 * Strict assertions: `equal` is `Object.is`, `deepEqual` compares prototypes and own enumerable keys.
 *
 * @example
 * ```ts
 * assert.equal(response.status, 200)
 * assert.deepEqual(await response.json(), { counter: 1 })
 * ```
 */
export interface StrictAssert {
  ok(value: unknown, message?: string | Error): asserts value
  equal<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T
  notEqual(actual: unknown, expected: unknown, message?: string | Error): void
  deepEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T
  deepStrictEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T
  notDeepEqual(actual: unknown, expected: unknown, message?: string | Error): void
  match(actual: string, pattern: RegExp, message?: string | Error): void
  throws(fn: () => unknown, expected?: Expected, message?: string | Error): void
  rejects(promise: Promise<unknown> | (() => Promise<unknown>), expected?: Expected, message?: string | Error): Promise<void>
  fail(message?: string): never
}

/**
 * The default export, used as `node:assert/strict` is.
 *
 * @example
 * ```ts
 * import assert from './assert.js'
 * assert.ok(cookie, 'expected a cookie')
 * ```
 */
const assert: StrictAssert = {
  ok(value: unknown, message?: string | Error): asserts value {
    if (!value) fail(message, `expected a truthy value, got ${show(value)}`)
  },
  equal<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T {
    if (!Object.is(actual, expected)) fail(message, `expected ${show(actual)} to equal ${show(expected)}`)
  },
  notEqual(actual: unknown, expected: unknown, message?: string | Error): void {
    if (Object.is(actual, expected)) fail(message, `expected a value other than ${show(expected)}`)
  },
  deepEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T {
    if (!isDeepStrictEqual(actual, expected)) fail(message, `expected ${show(actual)} to deeply equal ${show(expected)}`)
  },
  deepStrictEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T {
    if (!isDeepStrictEqual(actual, expected)) fail(message, `expected ${show(actual)} to deeply equal ${show(expected)}`)
  },
  notDeepEqual(actual: unknown, expected: unknown, message?: string | Error): void {
    if (isDeepStrictEqual(actual, expected)) fail(message, `expected a value other than ${show(expected)}`)
  },
  match(actual: string, pattern: RegExp, message?: string | Error): void {
    if (typeof actual !== 'string' || !pattern.test(actual)) fail(message, `expected ${show(actual)} to match ${String(pattern)}`)
  },
  throws(fn: () => unknown, expected?: Expected, message?: string | Error): void {
    try {
      fn()
    } catch (error) {
      if (!matches(error, expected)) fail(message, `threw the wrong error: ${show(error instanceof Error ? error.message : error)}`)
      return
    }
    fail(message, 'expected the function to throw')
  },
  async rejects(promise: Promise<unknown> | (() => Promise<unknown>), expected?: Expected, message?: string | Error): Promise<void> {
    try {
      await (typeof promise === 'function' ? promise() : promise)
    } catch (error) {
      if (!matches(error, expected)) fail(message, `rejected with the wrong error: ${show(error instanceof Error ? error.message : error)}`)
      return
    }
    fail(message, 'expected the promise to reject')
  },
  fail(message?: string): never {
    throw new AssertionError(message ?? 'failed')
  },
}

export default assert
