import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Mock } from 'vitest'
import { ConfigError, StoreError } from '../../src/core/errors.js'
import { GONE, MARKER_WINDOW_MS } from '../../src/core/store.js'
import type { SessionRecord, SessionStore } from '../../src/core/store.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { defineRevocationListConformance, defineStoreConformance } from '../../src/testing/index.js'

// Each store judges time by its own clock, which the expiry and marker-window cases move forward.
const clocks = new WeakMap<SessionStore, { offset: number }>()
defineStoreConformance({
  name: 'MemoryStore',
  test: { describe, it },
  makeStore: () => {
    const clock = { offset: 0 }
    const store = new MemoryStore({ clock: () => Date.now() + clock.offset })
    clocks.set(store, clock)
    return store
  },
  advanceClock: (store, ms) => {
    clocks.get(store)!.offset += ms
  },
  expireMarkers: async (store) => {
    clocks.get(store)!.offset += MARKER_WINDOW_MS + 1
  },
})
defineRevocationListConformance({ name: 'MemoryStore', test: { describe, it }, makeList: () => new MemoryStore().revocationList() })

const MINUTE = 60_000
const record = (data: SessionRecord['data']): SessionRecord => ({ data, createdAt: Date.now(), absoluteExpiresAt: null })
const quiet = (): { warn: Mock<(message: string) => void> } => ({ warn: vi.fn<(message: string) => void>() })

afterEach(() => {
  vi.useRealTimers()
})

describe('MemoryStore bounds', () => {
  it('stays within maxEntries over 100,000 creates, and the newest sessions load', async () => {
    const store = new MemoryStore({ maxEntries: 1000, logger: quiet() })
    const ids: string[] = []
    let largest = 0
    for (let i = 0; i < 100_000; i++) {
      ids.push(await store.create(record({ i }), MINUTE))
      largest = Math.max(largest, store.size)
    }
    expect(largest).toBeLessThanOrEqual(1000)
    for (let i = 99_000; i < 100_000; i++) expect((await store.load(ids[i]!))?.data).toEqual({ i })
    expect(await store.load(ids[0]!)).toBeNull()
  })

  it('stays within maxBytes, evicting the oldest sessions', async () => {
    const maxBytes = 10_000
    const store = new MemoryStore({ maxBytes, logger: quiet() })
    const ids: string[] = []
    for (let i = 0; i < 200; i++) {
      ids.push(await store.create(record({ padding: 'x'.repeat(100), i }), MINUTE))
      expect(store.bytes).toBeLessThanOrEqual(maxBytes)
    }
    expect(await store.load(ids[0]!)).toBeNull()
    expect((await store.load(ids[199]!))?.data).toMatchObject({ i: 199 })
  })

  it('counts bytes as the UTF-16 size of the id and the JSON text', async () => {
    const store = new MemoryStore()
    const id = await store.create(record({ a: 'é' }), MINUTE)
    expect(store.bytes).toBe(2 * (id.length + JSON.stringify({ a: 'é' }).length))
  })

  it('keeps maxBytes when an apply grows a record', async () => {
    const maxBytes = 4_000
    const store = new MemoryStore({ maxBytes, logger: quiet() })
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(record({ i }), MINUTE)))
    await store.apply(ids[9]!, { clear: false, set: { big: 'x'.repeat(1500) }, remove: [] }, MINUTE)
    expect(store.bytes).toBeLessThanOrEqual(maxBytes)
    expect((await store.load(ids[9]!))?.data).toMatchObject({ i: 9 })
  })

  it('refuses a record larger than maxBytes with an encode StoreError', async () => {
    const store = new MemoryStore({ maxBytes: 1000 })
    const error = await store.create(record({ big: 'x'.repeat(1000) }), MINUTE).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).kind).toBe('encode')
    expect(store.size).toBe(0)
  })

  it('evicts expired sessions before live ones', async () => {
    vi.useFakeTimers()
    const logger = quiet()
    const store = new MemoryStore({ maxEntries: 4, logger })
    const live = [await store.create(record({ live: 1 }), MINUTE), await store.create(record({ live: 2 }), MINUTE)]
    // The short-lived sessions are the most recently used: LRU alone would evict the live ones first.
    await store.create(record({ short: 1 }), 1000)
    await store.create(record({ short: 2 }), 1000)
    vi.advanceTimersByTime(2000)
    const fresh = await store.create(record({ fresh: true }), MINUTE)
    expect((await store.load(live[0]!))?.data).toEqual({ live: 1 })
    expect((await store.load(live[1]!))?.data).toEqual({ live: 2 })
    expect(await store.load(fresh)).not.toBeNull()
    expect(logger.warn).not.toHaveBeenCalled()
  })

  it('evicts the least recently used session, so a recently loaded one survives', async () => {
    const store = new MemoryStore({ maxEntries: 3, logger: quiet() })
    const first = await store.create(record({ n: 1 }), MINUTE)
    const second = await store.create(record({ n: 2 }), MINUTE)
    const third = await store.create(record({ n: 3 }), MINUTE)
    await store.load(first)
    await store.create(record({ n: 4 }), MINUTE)
    expect(await store.load(second)).toBeNull()
    expect((await store.load(first))?.data).toEqual({ n: 1 })
    expect((await store.load(third))?.data).toEqual({ n: 3 })
  })

  it('counts apply and touch as use for the LRU order', async () => {
    const store = new MemoryStore({ maxEntries: 3, logger: quiet() })
    const first = await store.create(record({ n: 1 }), MINUTE)
    const second = await store.create(record({ n: 2 }), MINUTE)
    const third = await store.create(record({ n: 3 }), MINUTE)
    await store.apply(first, { clear: false, set: { used: true }, remove: [] }, MINUTE)
    await store.touch(second, MINUTE)
    await store.create(record({ n: 4 }), MINUTE)
    expect(await store.load(third)).toBeNull()
    expect(await store.load(first)).not.toBeNull()
    expect(await store.load(second)).not.toBeNull()
  })

  it('warns once, the first time it evicts a live session', async () => {
    const logger = quiet()
    const store = new MemoryStore({ maxEntries: 2, logger })
    for (let i = 0; i < 10; i++) await store.create(record({ i }), MINUTE)
    expect(logger.warn).toHaveBeenCalledTimes(1)
    expect(logger.warn.mock.calls[0]?.[0]).toMatch(/evicted a live session.*maxEntries 2/)
  })

  it('does not warn while nothing has been evicted', async () => {
    const logger = quiet()
    const store = new MemoryStore({ maxEntries: 10, logger })
    for (let i = 0; i < 10; i++) await store.create(record({ i }), MINUTE)
    expect(logger.warn).not.toHaveBeenCalled()
  })
})

describe('MemoryStore copies', () => {
  it('returns a copy: mutating a loaded record does not change the stored one', async () => {
    const store = new MemoryStore()
    const id = await store.create(record({ list: [1] }), MINUTE)
    const loaded = await store.load(id)
    ;(loaded!.data['list'] as number[]).push(2)
    expect((await store.load(id))?.data).toEqual({ list: [1] })
  })

  it('takes a copy: mutating the created data afterwards does not change the stored one', async () => {
    const store = new MemoryStore()
    const data = { list: [1] }
    const id = await store.create(record(data), MINUTE)
    data.list.push(2)
    expect((await store.load(id))?.data).toEqual({ list: [1] })
  })
})

describe('MemoryStore time', () => {
  it('expires by Date.now(), so fake timers drive it', async () => {
    vi.useFakeTimers()
    const store = new MemoryStore()
    const id = await store.create(record({ a: 1 }), 10_000)
    vi.advanceTimersByTime(9_999)
    expect(await store.load(id)).not.toBeNull()
    vi.advanceTimersByTime(1)
    expect(await store.load(id)).toBeNull()
  })

  it('stops following a forwarding marker after 60 s', async () => {
    vi.useFakeTimers()
    const store = new MemoryStore()
    const id = await store.create(record({ a: 1 }), 10 * MINUTE)
    const renewed = await store.renew(id, { clear: false, set: {}, remove: [] }, 10 * MINUTE)
    vi.advanceTimersByTime(MINUTE)
    await store.delete(id)
    expect(await store.load(renewed as string)).not.toBeNull()
  })

  it('bounds markers by maxEntries, dropping the oldest', async () => {
    const store = new MemoryStore({ maxEntries: 3 })
    const ids = [await store.create(record({ a: 1 }), MINUTE)]
    for (let i = 0; i < 4; i++) ids.push((await store.renew(ids[i]!, { clear: false, set: {}, remove: [] }, MINUTE)) as string)
    // ids[0]'s forwarding marker was the oldest of four; its purge marker now pushes out ids[1]'s.
    await store.delete(ids[0]!)
    expect(await store.load(ids[4]!)).not.toBeNull()
    await store.delete(ids[2]!)
    expect(await store.load(ids[4]!)).toBeNull()
  })

  it('follows a chain of renews when the oldest id is deleted', async () => {
    const store = new MemoryStore()
    const first = await store.create(record({ a: 1 }), MINUTE)
    const second = await store.renew(first, { clear: false, set: {}, remove: [] }, MINUTE)
    const third = await store.renew(second as string, { clear: false, set: {}, remove: [] }, MINUTE)
    expect(third).not.toBe(GONE)
    await store.delete(first)
    expect(await store.load(third as string)).toBeNull()
  })
})

describe('MemoryStore options', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects maxEntries %s with a ConfigError naming the fix', (maxEntries) => {
    expect(() => new MemoryStore({ maxEntries })).toThrow(ConfigError)
    expect(() => new MemoryStore({ maxEntries })).toThrow(/maxEntries must be a positive whole number.*pass e\.g\. maxEntries/)
  })

  it.each([0, -5, 0.5])('rejects maxBytes %s with a ConfigError naming the fix', (maxBytes) => {
    expect(() => new MemoryStore({ maxBytes })).toThrow(/maxBytes must be a positive whole number/)
  })

  it('rejects a logger without warn', () => {
    expect(() => new MemoryStore({ logger: {} as never })).toThrow(/logger must have a warn/)
  })

  it('can invalidate', () => {
    expect(new MemoryStore().canInvalidate).toBe(true)
  })
})
