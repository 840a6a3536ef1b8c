import { afterEach, describe, expect, it, vi } from 'vitest'
import { CookieStore } from '../stores/cookie/cookie-store.js'
import { createManager } from '../core/manager.js'
import { keyBytes } from './keys.js'
import { cryptoProvider as nodeProvider } from './node.js'
import { OpenedCache, SUFFIX_CHARS, sameText } from './opened-cache.js'
import type { ContentSecurity, CookieSealer, CryptoProvider } from './types.js'
import { cryptoProvider as webProvider } from './web.js'

const KEY_A = keyBytes('cache key A: thirty-two bytes or more of material')
const KEY_B = keyBytes('cache key B: thirty-two bytes or more of material')
const MODES: readonly ContentSecurity[] = ['private', 'signed']

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

/** The value with one character replaced at `index`, by another of the base64url alphabet. */
function changedAt(value: string, index: number): string {
  const replacement = value[index] === 'A' ? 'B' : 'A'
  return value.slice(0, index) + replacement + value.slice(index + 1)
}

describe.each([nodeProvider, webProvider])('the $name sealer with its cache of opened values', (provider: CryptoProvider) => {
  async function sealer(keys: Uint8Array[], mode: ContentSecurity, cookieName = 'id'): Promise<CookieSealer> {
    return await provider.createSealer({ keys, mode, cookieName })
  }

  describe.each(MODES)('in %s mode', (mode) => {
    it('never opens forged bytes that share a cached value’s end (its tag or MAC)', async () => {
      const s = await sealer([KEY_A], mode)
      const value = await s.seal('{"user":"ada"}')
      expect(await s.open(value)).toEqual({ plaintext: '{"user":"ada"}', stale: false })
      // Same last characters (what the cache finds entries by), different bytes before them.
      for (const index of [3, 12, 20, value.length - SUFFIX_CHARS - 1]) {
        const forged = changedAt(value, index)
        expect(forged.slice(-SUFFIX_CHARS)).toBe(value.slice(-SUFFIX_CHARS))
        expect(await s.open(forged)).toBeNull()
      }
      // Longer and shorter, with the same end.
      expect(await s.open(value.slice(0, 20) + 'AAAA' + value.slice(20))).toBeNull()
      expect(await s.open(value.slice(0, 20) + value.slice(24))).toBeNull()
      // The genuine value still opens afterwards.
      expect(await s.open(value)).toEqual({ plaintext: '{"user":"ada"}', stale: false })
    })

    it('does not let a value cached for one key ring open in a sealer whose ring lost that key', async () => {
      const old = await sealer([KEY_B], mode)
      const value = await old.seal('sealed under B')
      const both = await sealer([KEY_A, KEY_B], mode)
      expect(await both.open(value)).toEqual({ plaintext: 'sealed under B', stale: true })
      // Cached now: answered again, still marked stale so the manager re-seals it.
      expect(await both.open(value)).toEqual({ plaintext: 'sealed under B', stale: true })
      const withoutB = await sealer([KEY_A], mode)
      expect(await withoutB.open(value)).toBeNull()
    })

    it('does not let a value cached for one cookie name open under another', async () => {
      const s = await sealer([KEY_A], mode, 'id')
      const value = await s.seal('bound to id')
      expect(await s.open(value)).not.toBeNull()
      const other = await sealer([KEY_A], mode, 'other')
      expect(await other.open(value)).toBeNull()
    })
  })

  it('keeps no more values than its bound, and an evicted value still opens through the cryptography', async () => {
    const s = await provider.createSealer({ keys: [KEY_A], mode: 'private', cookieName: 'id', openedCache: { maxEntries: 3, maxChars: 1 << 20 } })
    const values: string[] = []
    for (let i = 0; i < 10; i++) values.push(await s.seal(`value ${i}`))
    for (let i = 0; i < 10; i++) expect(await s.open(values[i]!)).toEqual({ plaintext: `value ${i}`, stale: false })
  })
})

describe('a WebCrypto sealer with its cache of opened values', () => {
  it('opens a value it sealed, or opened once, without another WebCrypto call, and synchronously', async () => {
    const sealing = await webProvider.createSealer({ keys: [KEY_A], mode: 'private', cookieName: 'id' })
    const opening = await webProvider.createSealer({ keys: [KEY_A], mode: 'private', cookieName: 'id' })
    const value = await sealing.seal('hello')
    const decrypt = vi.spyOn(globalThis.crypto.subtle, 'decrypt')
    expect(sealing.open(value)).toEqual({ plaintext: 'hello', stale: false })
    expect(decrypt).not.toHaveBeenCalled()
    expect(await opening.open(value)).toEqual({ plaintext: 'hello', stale: false })
    expect(decrypt).toHaveBeenCalledTimes(1)
    expect(opening.open(value)).toEqual({ plaintext: 'hello', stale: false })
    expect(decrypt).toHaveBeenCalledTimes(1)
  })

  it('tries the cryptography for a forged value that shares a cached value’s end, and refuses it', async () => {
    const s = await webProvider.createSealer({ keys: [KEY_A], mode: 'signed', cookieName: 'id' })
    const value = await s.seal('{"role":"user"}')
    const verify = vi.spyOn(globalThis.crypto.subtle, 'verify')
    const forged = changedAt(value, 12)
    expect(await s.open(forged)).toBeNull()
    expect(verify).toHaveBeenCalledTimes(1)
  })

  it('is off with openedCache: false: every open is a WebCrypto call', async () => {
    const s = await webProvider.createSealer({ keys: [KEY_A], mode: 'private', cookieName: 'id', openedCache: false })
    const value = await s.seal('hello')
    const decrypt = vi.spyOn(globalThis.crypto.subtle, 'decrypt')
    expect(await s.open(value)).toEqual({ plaintext: 'hello', stale: false })
    expect(await s.open(value)).toEqual({ plaintext: 'hello', stale: false })
    expect(decrypt).toHaveBeenCalledTimes(2)
  })
})

describe('OpenedCache', () => {
  const value = (n: number, length = 60): string => `e1.kidkidki.${String(n).padStart(length, 'x')}`
  const always = (): boolean => true

  it('holds at most maxEntries values, evicting the oldest first', () => {
    const cache = new OpenedCache<string>({ maxEntries: 100, maxChars: 1 << 30 })
    for (let i = 0; i < 1000; i++) {
      cache.set(value(i), 'k', `plain ${i}`, false, true)
      expect(cache.size).toBeLessThanOrEqual(100)
    }
    expect(cache.get(value(899), always)).toBeUndefined()
    expect(cache.get(value(900), always)).toEqual({ plaintext: 'plain 900', stale: false })
    expect(cache.get(value(999), always)).toEqual({ plaintext: 'plain 999', stale: false })
  })

  it('keeps evicting in insertion order after entries left from the middle (replaced, dropped or forgotten)', () => {
    const cache = new OpenedCache<string>({ maxEntries: 4, maxChars: 1 << 30 })
    for (let i = 0; i < 4; i++) cache.set(value(i), i === 2 ? 'gone' : 'k', `plain ${i}`, false, true)
    cache.set(value(1), 'k', 'plain 1 again', false, true) // re-entered: now the newest
    cache.forget((key) => key === 'gone') // 2 leaves from the middle
    expect(cache.size).toBe(3)
    cache.set(value(4), 'k', 'plain 4', false, true)
    cache.set(value(5), 'k', 'plain 5', false, true) // over the bound: the oldest left, 0, goes
    expect(cache.get(value(0), always)).toBeUndefined()
    expect([3, 1, 4, 5].map((n) => cache.get(value(n), always)?.plaintext)).toEqual(['plain 3', 'plain 1 again', 'plain 4', 'plain 5'])
    cache.set(value(6), 'k', 'plain 6', false, true) // then 3, the oldest after 0
    expect(cache.get(value(3), always)).toBeUndefined()
    expect(cache.size).toBe(4)
    cache.forget(always)
    expect([cache.size, cache.chars]).toEqual([0, 0])
    cache.set(value(7), 'k', 'plain 7', false, true) // an emptied cache starts its order afresh
    expect(cache.get(value(7), always)?.plaintext).toBe('plain 7')
  })

  it('holds at most maxChars characters of values and plaintexts together', () => {
    const cache = new OpenedCache<string>({ maxEntries: 1_000_000, maxChars: 10_000 })
    for (let i = 0; i < 500; i++) {
      cache.set(value(i, 400), 'k', 'p'.repeat(100), false, true)
      expect(cache.chars).toBeLessThanOrEqual(10_000)
    }
    expect(cache.size).toBe(Math.floor(10_000 / (value(0, 400).length + 100)))
  })

  it('never enters a value longer than a sealed value may be, nor one larger than the whole bound', () => {
    const cache = new OpenedCache<string>({ maxEntries: 10, maxChars: 100_000 })
    cache.set(value(1, 9000), 'k', 'p', false, true)
    expect(cache.size).toBe(0)
    const small = new OpenedCache<string>({ maxEntries: 10, maxChars: 50 })
    small.set(value(1), 'k', 'p', false, true)
    expect(small.size).toBe(0)
  })

  it('answers a hit only while its key is still in the ring, and drops it otherwise', () => {
    const cache = new OpenedCache<string>({ maxEntries: 10, maxChars: 10_000 })
    cache.set(value(1), 'old', 'p1', true, false)
    cache.set(value(2), 'new', 'p2', false, false)
    expect(cache.get(value(1), (key) => key === 'new')).toBeUndefined()
    expect(cache.size).toBe(1)
    expect(cache.get(value(1), always)).toBeUndefined()
    cache.forget((key) => key === 'new')
    expect(cache.size).toBe(0)
    expect(cache.chars).toBe(0)
  })

  it('finds a value by its end but answers only for the exact same characters', () => {
    const cache = new OpenedCache<string>({ maxEntries: 10, maxChars: 10_000 })
    const genuine = value(7)
    cache.set(genuine, 'k', 'plain', false, true)
    expect(cache.get('Z' + genuine.slice(1), always)).toBeUndefined()
    expect(cache.get(genuine.slice(1), always)).toBeUndefined()
    expect(cache.get(genuine, always)).toEqual({ plaintext: 'plain', stale: false })
    expect(cache.get(undefined as unknown as string, always)).toBeUndefined()
  })

  it('compares whole strings: equal only when every character is', () => {
    expect(sameText('abc', 'abc')).toBe(true)
    expect(sameText('abc', 'abd')).toBe(false)
    expect(sameText('abc', 'abcd')).toBe(false)
    expect(sameText('', '')).toBe(true)
  })
})

describe('a session cookie answered from the cache', () => {
  it('still expires: the cookie store’s embedded expiry is judged on every request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(1_800_000_000_000)
    const manager = createManager(
      {
        store: new CookieStore(),
        keys: ['cache test key: thirty-two bytes or more of it'],
        lifecycle: { type: 'browser', stateTtl: 600 },
        absoluteTimeout: 3600,
        cookie: { secure: false },
      },
      nodeProvider,
    )
    const headers = new Map<string, string>()
    const view = { get: (name: string) => headers.get(name) ?? null, set: (name: string, v: string) => void headers.set(name, v), append: (name: string, v: string) => void headers.set(name, v) }
    const first = manager.begin(undefined)
    first.insert('n', 1)
    await manager.commit(first, { status: 200, headers: view })
    const cookie = (headers.get('set-cookie') ?? '').split(';', 1)[0]!
    expect(await manager.begin(cookie).get('n')).toBe(1)
    expect(await manager.begin(cookie).get('n')).toBe(1)
    // Past the idle expiry embedded in the record: the cached value must not bring it back.
    vi.setSystemTime(1_800_000_000_000 + 11 * 60_000)
    expect(await manager.begin(cookie).get('n')).toBeUndefined()
  })

  it('still honours the absolute timeout on every request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(1_800_000_000_000)
    const manager = createManager(
      {
        store: new CookieStore(),
        keys: ['cache test key: thirty-two bytes or more of it'],
        lifecycle: { type: 'browser', stateTtl: 3000 },
        absoluteTimeout: 3600,
        cookie: { secure: false },
      },
      nodeProvider,
    )
    const headers = new Map<string, string>()
    const view = { get: (name: string) => headers.get(name) ?? null, set: (name: string, v: string) => void headers.set(name, v), append: (name: string, v: string) => void headers.set(name, v) }
    let cookie: string | undefined
    // Keep the session alive with writes until just before its absolute end, the cookie re-sealed each time.
    for (let minute = 0; minute <= 55; minute += 5) {
      vi.setSystemTime(1_800_000_000_000 + minute * 60_000)
      const session = manager.begin(cookie)
      session.insert('n', minute)
      await manager.commit(session, { status: 200, headers: view })
      cookie = (headers.get('set-cookie') ?? '').split(';', 1)[0]!
      expect(await manager.begin(cookie).get('n')).toBe(minute)
    }
    vi.setSystemTime(1_800_000_000_000 + 61 * 60_000)
    expect(await manager.begin(cookie).get('n')).toBeUndefined()
  })
})
