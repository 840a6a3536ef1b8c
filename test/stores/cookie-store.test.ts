import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import { EXPIRED } from '../../src/core/store.js'
import type { SessionRecord, SessionStore } from '../../src/core/store.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { defineStoreConformance } from '../../src/testing/index.js'

// Each store judges time by its own clock, which the expiry cases move forward.
const clocks = new WeakMap<SessionStore, { offset: number }>()
defineStoreConformance({
  name: 'CookieStore',
  test: { describe, it },
  makeStore: () => {
    const clock = { offset: 0 }
    const store = new CookieStore({ clock: () => Date.now() + clock.offset })
    clocks.set(store, clock)
    return store
  },
  advanceClock: (store, ms) => {
    clocks.get(store)!.offset += ms
  },
  canInvalidate: false,
  listsByUser: false,
  takes: false,
})

const MINUTE = 60_000
const NO_CHANGES = { clear: false, set: {}, remove: [] }
const record = (data: SessionRecord['data'], absoluteExpiresAt: number | null = null): SessionRecord => ({
  data,
  createdAt: Date.now(),
  absoluteExpiresAt,
})

afterEach(() => {
  vi.useRealTimers()
})

describe('CookieStore format', () => {
  it('writes the record as versioned JSON with its embedded expiry', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const value = await new CookieStore().create({ data: { k: 'value', n: 1 }, createdAt: 999_000, absoluteExpiresAt: 5_000_000 }, MINUTE)
    expect(value).toBe('{"v":1,"d":{"k":"value","n":1},"c":999000,"a":5000000,"e":1060000}')
  })

  it('caps the embedded expiry at absoluteExpiresAt', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const value = await new CookieStore().create({ data: {}, createdAt: 1_000_000, absoluteExpiresAt: 1_030_000 }, MINUTE)
    expect(JSON.parse(value)).toMatchObject({ a: 1_030_000, e: 1_030_000 })
  })

  it('keeps createdAt and absoluteExpiresAt through renew', async () => {
    const store = new CookieStore()
    const original = { data: { a: 1 }, createdAt: Date.now() - 5000, absoluteExpiresAt: Date.now() + MINUTE }
    const renewed = await store.renew(await store.create(original, MINUTE), { clear: false, set: { b: 2 }, remove: [] }, MINUTE)
    expect(await store.load(renewed as string)).toEqual({ ...original, data: { a: 1, b: 2 } })
  })
})

describe('CookieStore expiry', () => {
  it('lets a copied value die at its embedded expiry', async () => {
    vi.useFakeTimers()
    const store = new CookieStore()
    const copy = await store.create(record({ user: 'ferris' }), 10_000)
    vi.advanceTimersByTime(9_999)
    expect(await store.load(copy)).not.toBeNull()
    vi.advanceTimersByTime(1)
    expect(await store.load(copy)).toBeNull()
  })

  it('lets a copied value die at absoluteExpiresAt however often it was touched', async () => {
    vi.useFakeTimers()
    const store = new CookieStore()
    let value = await store.create(record({ a: 1 }, Date.now() + 30_000), 10_000)
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(9_000)
      value = (await store.touch(value, 10_000)) as string
    }
    vi.advanceTimersByTime(3_000)
    expect(await store.load(value)).toBeNull()
  })

  it('judges every instant by the clock option instead of Date.now()', async () => {
    let now = Date.now() + 86_400_000
    const store = new CookieStore({ clock: () => now })
    const value = await store.create(record({ a: 1 }), 10_000)
    expect(JSON.parse(value)).toMatchObject({ e: now + 10_000 })
    now += 9_999
    const touched = (await store.touch(value, 10_000)) as string
    expect(JSON.parse(touched)).toMatchObject({ e: now + 10_000 })
    now += 1
    expect(await store.load(value)).toBeNull()
    expect(await store.apply(value, NO_CHANGES, MINUTE)).toBe(EXPIRED)
    expect((await store.load(touched))?.data).toEqual({ a: 1 })
  })

  it('refuses a clock that is not a function with a ConfigError naming the fix', () => {
    expect(() => new CookieStore({ clock: 12 as never })).toThrow(ConfigError)
    expect(() => new CookieStore({ clock: 12 as never })).toThrow(/clock must be a function.*clock: \(\) => Date\.now\(\)/)
  })

  it('answers EXPIRED for touch on an expired value', async () => {
    vi.useFakeTimers()
    const store = new CookieStore()
    const value = await store.create(record({ a: 1 }), 1_000)
    vi.advanceTimersByTime(1_000)
    expect(await store.touch(value, MINUTE)).toBe(EXPIRED)
  })
})

describe('CookieStore hostile values', () => {
  it('loads a random 64-character string as null', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
    const bytes = crypto.getRandomValues(new Uint8Array(64))
    const value = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')
    expect(await new CookieStore().load(value)).toBeNull()
  })

  it('loads another version as null', async () => {
    const value = JSON.stringify({ v: 2, d: { a: 1 }, c: Date.now(), a: null, e: Date.now() + MINUTE })
    expect(await new CookieStore().load(value)).toBeNull()
  })

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"text"'],
    ['null', 'null'],
    ['an empty string', ''],
    ['truncated JSON', '{"v":1,"d":{'],
    ['data as an array', `{"v":1,"d":[1],"c":0,"a":null,"e":${Number.MAX_SAFE_INTEGER}}`],
    ['data as null', `{"v":1,"d":null,"c":0,"a":null,"e":${Number.MAX_SAFE_INTEGER}}`],
    ['createdAt as a string', `{"v":1,"d":{},"c":"0","a":null,"e":${Number.MAX_SAFE_INTEGER}}`],
    ['absoluteExpiresAt missing', `{"v":1,"d":{},"c":0,"e":${Number.MAX_SAFE_INTEGER}}`],
    ['expiry as a string', '{"v":1,"d":{},"c":0,"a":null,"e":"9999999999999"}'],
    ['expiry missing', '{"v":1,"d":{},"c":0,"a":null}'],
    ['version as a string', `{"v":"1","d":{},"c":0,"a":null,"e":${Number.MAX_SAFE_INTEGER}}`],
  ])('loads %s as null', async (_label, value) => {
    expect(await new CookieStore().load(value)).toBeNull()
  })

  it.each(['apply', 'renew', 'touch'] as const)('%s on a malformed value answers EXPIRED', async (operation) => {
    const store = new CookieStore()
    const result = operation === 'touch' ? await store.touch('not json', MINUTE) : await store[operation]('not json', NO_CHANGES, MINUTE)
    expect(result).toBe(EXPIRED)
  })

  it('loads a __proto__ payload without polluting Object.prototype', async () => {
    const value = `{"v":1,"d":{"__proto__":{"polluted":true}},"c":0,"a":null,"e":${Number.MAX_SAFE_INTEGER},"__proto__":{"admin":true}}`
    const loaded = await new CookieStore().load(value)
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined()
    expect(Object.getPrototypeOf(loaded?.data)).toBe(Object.prototype)
  })

  it('does not take fields from a __proto__ key in place of the real ones', async () => {
    const value = `{"__proto__":{"v":1,"d":{},"c":0,"a":null,"e":${Number.MAX_SAFE_INTEGER}}}`
    expect(await new CookieStore().load(value)).toBeNull()
  })

  it('never throws on JSON nested 10,000 deep', async () => {
    const depth = 10_000
    const deep = '{"x":'.repeat(depth) + '1' + '}'.repeat(depth)
    const value = `{"v":1,"d":{"deep":${deep}},"c":0,"a":null,"e":${Number.MAX_SAFE_INTEGER}}`
    const loaded = await new CookieStore().load(value)
    expect(loaded === null || typeof loaded.data['deep'] === 'object').toBe(true)
  })

  it('never throws on 10,000 unclosed brackets', async () => {
    expect(await new CookieStore().load('['.repeat(10_000))).toBeNull()
  })
})

describe('CookieStore invalidation', () => {
  it('cannot invalidate', () => {
    expect(new CookieStore().canInvalidate).toBe(false)
  })
})
