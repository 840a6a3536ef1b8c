import assert from 'node:assert/strict'
import type { Json } from '../core/json.js'
import { EXPIRED, GONE, RENEWED } from '../core/store.js'
import type { ChangeSet, Missing, SessionOwner, SessionRecord, SessionStore } from '../core/store.js'
import { backendClockTime, injectedClockTime } from './conformance-time.js'

/**
 * The test functions the suite registers its cases with: vitest's, node:test's, or any runner's
 * with the same shape.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * const test: ConformanceTestApi = { describe, it }
 * ```
 */
export interface ConformanceTestApi {
  describe(name: string, fn: () => void): void
  it(name: string, fn: () => Promise<void> | void): void
  beforeAll?(fn: () => Promise<void> | void): void
  afterAll?(fn: () => Promise<void> | void): void
}

/**
 * What {@link defineStoreConformance} needs to know about the store under test.
 *
 * @example
 * ```ts
 * const options: StoreConformanceOptions = { name: 'MemoryStore', test: { describe, it }, makeStore: () => new MemoryStore() }
 * ```
 */
export interface StoreConformanceOptions {
  /** Shown in the describe title. */
  name: string
  /** vitest's or node:test's functions. */
  test: ConformanceTestApi
  /** Called for each test; each call must give an isolated store (its own prefix, table or database). */
  makeStore(): SessionStore | Promise<SessionStore>
  /**
   * Everything the backend holds for that store, as text (keys, values, rows). Used to prove that
   * no raw session id is written and that a refused write leaves nothing behind. Omit it for
   * in-process stores.
   */
  dumpBackend?(store: SessionStore): Promise<string>
  /**
   * Whether `delete` really ends a session; defaults to `store.canInvalidate`. A store that cannot
   * invalidate (the cookie store) is one whose id is the record itself, so the cases that need
   * server-side state assert the stateless behaviour instead (a replayed id still loads).
   */
  canInvalidate?: boolean
  /**
   * Ends the window of every forwarding and purge marker the store holds now, as if
   * `MARKER_WINDOW_MS` had passed, while records stay live (for example: move an injected clock
   * forward, or set the markers' expiry into the past in the backend). When given, the suite checks
   * that no marker is honoured after its window. Omit it only when the backend offers no way.
   */
  expireMarkers?(store: SessionStore): Promise<void>
  /**
   * Whether the store lists and revokes a user's sessions (`listByUser`, `revokeByUser`); default
   * `true`, as every server store must. `false` for a store that cannot (the cookie store).
   */
  listsByUser?: boolean
  /**
   * Whether the store takes one key atomically (`take`, which makes a flash message delivered once
   * however requests race); default `true`, as every server store should. `false` for a store that
   * cannot (the cookie store).
   */
  takes?: boolean
  /**
   * Moves the clock the store judges expiry by forward by `ms`. Give it for a store that judges time
   * in-process by an injected clock (the `clock` option of MemoryStore, CookieStore and
   * SqliteStore): the expiry cases then advance the clock instead of waiting, so they are instant
   * and cannot flake on a busy machine. The clock must read epoch milliseconds and start at
   * `Date.now()` (for example `() => Date.now() + offset`), because the suite writes
   * `absoluteExpiresAt` from `Date.now()`. Without it (Redis, PostgreSQL: the backend's clock) the
   * expiry cases wait out short real TTLs, about 11 s per store in all.
   */
  advanceClock?(store: SessionStore, ms: number): Promise<void> | void
}

const MINUTE = 60_000
// Creates in flight at once in the 1,000-create case: enough to race id generation and inserts, few
// enough that a pooled backend's queue (10 connections by default in pg) drains well within its
// connect timeout on a loaded machine.
const CREATES_IN_FLIGHT = 100

/** Runs `fn(0)` … `fn(count - 1)` with at most `width` calls in flight at once; the results in order. */
async function concurrently<T>(count: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      results[i] = await fn(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker))
  return results
}

const NO_CHANGES: ChangeSet = { clear: false, set: {}, remove: [] }
const LONG_TTL = 30 * 60_000

const MISSING_NAMES = new Map<unknown, string>([
  [GONE, 'GONE'],
  [EXPIRED, 'EXPIRED'],
  [RENEWED, 'RENEWED'],
])

/** Asserts a write's answer by name, so a failure says `EXPIRED` rather than `Symbol(...)`. */
function assertAnswer(actual: string | Missing, expected: Missing, what: string): void {
  const name = (value: unknown): string => MISSING_NAMES.get(value) ?? `an id (${typeof value})`
  assert.equal(name(actual), name(expected), `${what} answered ${name(actual)}, expected ${name(expected)}`)
}

function isMissing(value: string | Missing): value is Missing {
  return typeof value !== 'string'
}

function changes(partial: Partial<ChangeSet>): ChangeSet {
  return { ...NO_CHANGES, ...partial }
}

function record(data: Record<string, Json>, absoluteExpiresAt: number | null = null): SessionRecord {
  return { data, createdAt: Date.now(), absoluteExpiresAt }
}

/** A filing as the manager would make it for `userId` (a fixed handle, lastSeenAt and info). */
function owner(userId: string): SessionOwner {
  return { userId, handle: `handle-of-${userId}`, lastSeenAt: 1_700_000_000_000, info: { userAgent: 'conformance/1.0 (\u00e9)' } }
}

/** A user id no other test uses: stores under test may be shared between cases. */
function uniqueUser(): string {
  return `user-${unknownId().slice(0, 12)}`
}

// Shaped like a real id (43 base64url characters = 32 random bytes) but never issued by the store.
function unknownId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Session data exercising every JSON shape and the keys that trip path-based backends. */
function richData(): Record<string, Json> {
  return {
    nested: { user: { id: 42, roles: ['admin', 'editor'], profile: { tags: [[1, 2], [], [{ deep: true }]] } } },
    list: [1, 'two', { three: 3 }, [4], null, false],
    unicode: 'héllo wörld · 日本語 · \u202e rtl',
    emoji: '🍕👩‍👩‍👧🏳️‍🌈',
    escapes: 'quote " backslash \\ newline \n tab \t',
    empty: '',
    zero: 0,
    negative: -17,
    float: 3.14159,
    tiny: -2.5e-7,
    big: 1e21,
    maxSafe: Number.MAX_SAFE_INTEGER,
    yes: true,
    no: false,
    nothing: null,
    emptyObject: {},
    emptyArray: [],
    'a.b': 'dotted',
    'q"k': 'quoted',
    $: 'dollar',
    '': 'empty key',
    '[0]': 'bracketed',
    '🔑': 'emoji key',
    'with space': 1,
    'back\\slash': 2,
    constructor: 'not a function',
  }
}

function assertNotPolluted(): void {
  assert.equal((Object.prototype as Record<string, unknown>)['polluted'], undefined, 'Object.prototype was polluted')
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype was polluted')
}

function base64(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

function hex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}

/** Every encoding of the id a careless store might write: the text, its UTF-8 bytes, and its decoded bytes. */
function encodingsOf(id: string): string[] {
  const utf8 = new TextEncoder().encode(id)
  const forms = [id, hex(utf8), base64(utf8), base64(utf8).replace(/\+/g, '-').replace(/\//g, '_')]
  if (/^[A-Za-z0-9_-]+$/.test(id)) {
    try {
      const padded = id.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (id.length % 4)) % 4)
      const decoded = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))
      forms.push(hex(decoded), base64(decoded))
    } catch {
      // not valid base64 after all: the text forms above still cover it
    }
  }
  return forms
}

function assertNoIdIn(dump: string, id: string): void {
  const lowerDump = dump.toLowerCase()
  const window = 17
  for (const form of encodingsOf(id)) {
    const hexLike = /^[0-9a-f]+$/.test(form)
    for (let i = 0; i + window <= form.length; i++) {
      const piece = form.slice(i, i + window)
      const found = hexLike ? lowerDump.includes(piece) : dump.includes(piece)
      assert.ok(!found, `the backend holds a ${window}-character piece of a raw session id (${form === id ? 'as text' : 'encoded'})`)
    }
  }
}

/**
 * Registers the store conformance suite: the behaviour every {@link SessionStore} must show, run
 * against the real backend. Third-party stores run it too. Assertions use `node:assert`, so it
 * works under vitest and node:test alike. Expiry is checked on the store's own clock: an injected
 * one moved by `advanceClock` when given (instant), else the backend's, by waiting until a control
 * record the store holds has expired (short real TTLs; about 11 s per store).
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * import { defineStoreConformance } from 'cloakroom/testing'
 * import { MemoryStore } from 'cloakroom'
 *
 * // A clock per store that the suite moves forward instead of waiting for expiry.
 * const offsets = new WeakMap<object, { ms: number }>()
 * defineStoreConformance({
 *   name: 'MemoryStore',
 *   test: { describe, it },
 *   makeStore: () => {
 *     const offset = { ms: 0 }
 *     const store = new MemoryStore({ clock: () => Date.now() + offset.ms })
 *     offsets.set(store, offset)
 *     return store
 *   },
 *   advanceClock: (store, ms) => void (offsets.get(store)!.ms += ms),
 * })
 * ```
 */
export function defineStoreConformance(options: StoreConformanceOptions): void {
  const { test, dumpBackend, advanceClock } = options
  const { describe, it } = test
  const time = advanceClock === undefined ? backendClockTime() : injectedClockTime(advanceClock)

  const canInvalidate = (store: SessionStore): boolean => options.canInvalidate ?? store.canInvalidate

  /**
   * A case whose expectation depends on whether the store keeps server-side state. The title is
   * exact when the capability is declared; otherwise it names both and the store decides at run time.
   */
  function capabilityCase(
    titles: { server: string; stateless: string },
    body: (store: SessionStore, serverSide: boolean) => Promise<void>,
  ): void {
    const title =
      options.canInvalidate === true
        ? `[canInvalidate] ${titles.server}`
        : options.canInvalidate === false
          ? `[!canInvalidate] ${titles.stateless}`
          : `${titles.server} (if the store cannot invalidate: ${titles.stateless})`
    it(title, async () => {
      const store = await options.makeStore()
      await body(store, canInvalidate(store))
    })
  }

  describe(`store conformance: ${options.name}`, () => {
    describe('load and delete', () => {
      it('loads null for an unknown id', async () => {
        const store = await options.makeStore()
        assert.equal(await store.load(unknownId()), null)
      })

      it('resolves delete of an unknown id, and of the same id twice', async () => {
        const store = await options.makeStore()
        const id = unknownId()
        await store.delete(id)
        await store.delete(id)
        assert.equal(await store.load(id), null)
      })

      capabilityCase(
        { server: 'after delete the id loads null', stateless: 'a replayed id still loads after delete (the documented limit)' },
        async (store, serverSide) => {
          const id = await store.create(record({ user: 'ferris' }), MINUTE)
          await store.delete(id)
          const loaded = await store.load(id)
          if (serverSide) assert.equal(loaded, null)
          else assert.deepEqual(loaded?.data, { user: 'ferris' })
        },
      )
    })

    describe('create', () => {
      it('round-trips data exactly: nested values, unicode, numbers, booleans, null, empty containers and odd keys', async () => {
        const store = await options.makeStore()
        const data = richData()
        const id = await store.create(record(data), MINUTE)
        const loaded = await store.load(id)
        assert.ok(loaded, 'the created record did not load')
        assert.deepStrictEqual(loaded.data, richData())
      })

      it('round-trips createdAt and absoluteExpiresAt, including a null absoluteExpiresAt', async () => {
        const store = await options.makeStore()
        const createdAt = Date.now() - 1234
        const absoluteExpiresAt = Date.now() + 3_600_000
        const capped = await store.create({ data: { a: 1 }, createdAt, absoluteExpiresAt }, MINUTE)
        const uncapped = await store.create({ data: { a: 2 }, createdAt, absoluteExpiresAt: null }, MINUTE)
        const loadedCapped = await store.load(capped)
        const loadedUncapped = await store.load(uncapped)
        assert.equal(loadedCapped?.createdAt, createdAt)
        assert.equal(loadedCapped?.absoluteExpiresAt, absoluteExpiresAt)
        assert.equal(loadedUncapped?.createdAt, createdAt)
        assert.equal(loadedUncapped?.absoluteExpiresAt, null)
      })

      it('keeps a __proto__ key as an own key without polluting Object.prototype', async () => {
        const store = await options.makeStore()
        const data = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, Json>
        const id = await store.create(record(data), MINUTE)
        const loaded = await store.load(id)
        assertNotPolluted()
        assert.ok(loaded, 'the created record did not load')
        assert.equal(Object.getPrototypeOf(loaded.data), Object.prototype)
        assert.deepEqual(Object.getOwnPropertyDescriptor(loaded.data, '__proto__')?.value, { polluted: true })
        assert.equal(loaded.data['a'], 1)
      })

      capabilityCase(
        { server: 'two creates of the same record give distinct ids', stateless: 'two creates of different records give distinct ids' },
        async (store, serverSide) => {
          const first = await store.create(record(serverSide ? { same: true } : { n: 1 }), MINUTE)
          const second = await store.create(record(serverSide ? { same: true } : { n: 2 }), MINUTE)
          assert.notEqual(first, second)
        },
      )

      it(`gives 1,000 concurrent creates (${CREATES_IN_FLIGHT} in flight at once) 1,000 distinct ids, each loading its own data`, async () => {
        const store = await options.makeStore()
        const ids = await concurrently(1000, CREATES_IN_FLIGHT, (i) => store.create(record({ i }), MINUTE))
        assert.equal(new Set(ids).size, 1000)
        const loaded = await concurrently(1000, CREATES_IN_FLIGHT, (i) => store.load(ids[i]!))
        loaded.forEach((entry, i) => assert.deepEqual(entry?.data, { i }, `record ${i} did not load its own data`))
      })
    })

    describe('expiry', () => {
      it('loads null once the ttl has passed', async () => {
        const store = await options.makeStore()
        const id = await store.create(record({ a: 1 }), time.shortTtl)
        const ttl = await time.span(store, time.shortTtl)
        await ttl.ended()
        assert.equal(await store.load(id), null, 'the record still loads after its ttl ended')
      })

      it('answers EXPIRED for apply, touch and renew on an expired record, and does not revive it', async () => {
        const store = await options.makeStore()
        const id = await store.create(record({ a: 1 }), time.shortTtl)
        const ttl = await time.span(store, time.shortTtl)
        await ttl.ended()
        assertAnswer(await store.apply(id, changes({ set: { b: 2 } }), MINUTE), EXPIRED, 'apply')
        assertAnswer(await store.touch(id, MINUTE), EXPIRED, 'touch')
        assertAnswer(await store.renew(id, changes({ set: { b: 2 } }), MINUTE), EXPIRED, 'renew')
        assert.equal(await store.load(id), null)
      })

      // The write lands half way through the ttl, so it has half the ttl to reach a live record, and
      // once the original ttl has ended the moved one still has half to run: room for a slow machine
      // on either side.
      it('apply moves the expiry forward', async () => {
        const store = await options.makeStore()
        const ttlMs = time.window
        const created = await store.create(record({ a: 1 }), ttlMs)
        const original = await time.span(store, ttlMs)
        const halfway = await time.span(store, ttlMs / 2)
        await halfway.ended()
        const applied = await store.apply(created, changes({ set: { b: 2 } }), ttlMs)
        assert.ok(!isMissing(applied), 'apply found no record before its ttl ended')
        await original.ended()
        assert.deepEqual((await store.load(applied))?.data, { a: 1, b: 2 }, 'the record expired at its original expiry')
      })

      it('touch moves the expiry forward and leaves the data alone', async () => {
        const store = await options.makeStore()
        const ttlMs = time.window
        const created = await store.create(record(richData()), ttlMs)
        const original = await time.span(store, ttlMs)
        const halfway = await time.span(store, ttlMs / 2)
        await halfway.ended()
        const touched = await store.touch(created, ttlMs)
        assert.ok(!isMissing(touched), 'touch found no record before its ttl ended')
        await original.ended()
        assert.deepStrictEqual((await store.load(touched))?.data, richData(), 'the record expired at its original expiry')
      })

      it('ends the session at absoluteExpiresAt even with a long ttl', async () => {
        const store = await options.makeStore()
        const absoluteExpiresAt = Date.now() + time.window
        const id = await store.create(record({ a: 1 }, absoluteExpiresAt), LONG_TTL)
        assert.notEqual(await store.load(id), null)
        const cut = await time.until(store, absoluteExpiresAt)
        await cut.ended()
        assert.equal(await store.load(id), null, 'the record still loads after absoluteExpiresAt')
      })

      it('apply never extends the expiry past absoluteExpiresAt', async () => {
        const store = await options.makeStore()
        const absoluteExpiresAt = Date.now() + time.window
        const id = await store.create(record({ a: 1 }, absoluteExpiresAt), LONG_TTL)
        const applied = await store.apply(id, changes({ set: { b: 2 } }), LONG_TTL)
        assert.ok(!isMissing(applied))
        const cut = await time.until(store, absoluteExpiresAt)
        await cut.ended()
        assert.equal(await store.load(applied), null, 'apply extended the record past absoluteExpiresAt')
      })

      it('touch never extends the expiry past absoluteExpiresAt', async () => {
        const store = await options.makeStore()
        const absoluteExpiresAt = Date.now() + time.window
        const id = await store.create(record({ a: 1 }, absoluteExpiresAt), LONG_TTL)
        const touched = await store.touch(id, LONG_TTL)
        assert.ok(!isMissing(touched))
        const cut = await time.until(store, absoluteExpiresAt)
        await cut.ended()
        assert.equal(await store.load(touched), null, 'touch extended the record past absoluteExpiresAt')
      })
    })

    describe('apply: change-set semantics', () => {
      async function applyTo(initial: Record<string, Json>, change: Partial<ChangeSet>): Promise<Record<string, Json> | undefined> {
        const store = await options.makeStore()
        const id = await store.create(record(initial), MINUTE)
        const applied = await store.apply(id, changes(change), MINUTE)
        assert.ok(!isMissing(applied), 'apply on a live record found no record')
        return (await store.load(applied))?.data
      }

      it('sets new keys and keeps untouched ones', async () => {
        assert.deepEqual(await applyTo({ a: 1 }, { set: { b: 2 } }), { a: 1, b: 2 })
      })

      it('clears first, then removes, then sets', async () => {
        const data = await applyTo({ a: 1, b: 2 }, { clear: true, remove: ['k'], set: { k: 'kept', c: 3 } })
        assert.deepEqual(data, { k: 'kept', c: 3 })
      })

      it('removes before it sets, so a key both removed and set ends up set', async () => {
        assert.deepEqual(await applyTo({ k: 'old', other: 1 }, { remove: ['k', 'other'], set: { k: 'new' } }), { k: 'new' })
      })

      it('replaces nested values instead of merging them', async () => {
        assert.deepEqual(await applyTo({ a: { x: 1, y: 2 } }, { set: { a: { x: 3 } } }), { a: { x: 3 } })
      })

      it('stores null as a value, not as a removal', async () => {
        const data = await applyTo({ a: 1 }, { set: { a: null } })
        assert.deepEqual(data, { a: null })
      })

      it('accepts the removal of an absent key', async () => {
        assert.deepEqual(await applyTo({ a: 1 }, { remove: ['absent'] }), { a: 1 })
      })

      it('sets and removes odd keys as plain keys', async () => {
        const odd = ['a.b', 'q"k', '$', '', '[0]', '🔑']
        const data = await applyTo({ 'a.b': 0, keep: 1 }, { remove: ['$'], set: Object.fromEntries(odd.map((k) => [k, k])) })
        assert.deepEqual(data, { keep: 1, ...Object.fromEntries(odd.map((k) => [k, k])) })
      })

      it('keeps a record left with no keys after clear, with empty data', async () => {
        const store = await options.makeStore()
        const id = await store.create(record({ a: 1 }), MINUTE)
        const applied = await store.apply(id, changes({ clear: true }), MINUTE)
        assert.ok(!isMissing(applied))
        const loaded = await store.load(applied)
        assert.ok(loaded, 'a cleared record must stay loadable')
        assert.deepEqual(loaded.data, {})
      })

      it('last writer wins on the same key (sequential applies)', async () => {
        const store = await options.makeStore()
        const id = await store.create(record({ k: 0 }), MINUTE)
        const first = await store.apply(id, changes({ set: { k: 1 } }), MINUTE)
        assert.ok(!isMissing(first))
        const second = await store.apply(first, changes({ set: { k: 2 } }), MINUTE)
        assert.ok(!isMissing(second))
        assert.deepEqual((await store.load(second))?.data, { k: 2 })
      })

      capabilityCase(
        {
          server: 'concurrent applies of different keys on one record both land (20 pairs in parallel)',
          stateless: 'concurrent applies on one value each return the original data plus their own change (20 pairs)',
        },
        async (store, serverSide) => {
          const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => store.create(record({ i }), MINUTE)))
          const results = await Promise.all(
            ids.map((id) =>
              Promise.all([store.apply(id, changes({ set: { left: 'L' } }), MINUTE), store.apply(id, changes({ set: { right: 'R' } }), MINUTE)]),
            ),
          )
          for (const [i, [left, right]] of results.entries()) {
            assert.ok(!isMissing(left) && !isMissing(right), `pair ${i} found no record`)
            if (serverSide) {
              assert.deepEqual((await store.load(left))?.data, { i, left: 'L', right: 'R' }, `pair ${i} lost a write`)
            } else {
              assert.deepEqual((await store.load(left))?.data, { i, left: 'L' })
              assert.deepEqual((await store.load(right))?.data, { i, right: 'R' })
            }
          }
        },
      )
    })

    describe('no write ever creates a record; a missing record says why', () => {
      const operations = {
        apply: (store: SessionStore, id: string) => store.apply(id, changes({ set: { resurrected: true } }), MINUTE),
        touch: (store: SessionStore, id: string) => store.touch(id, MINUTE),
        renew: (store: SessionStore, id: string) => store.renew(id, changes({ set: { resurrected: true } }), MINUTE),
      }

      for (const [name, operation] of Object.entries(operations)) {
        it(`${name} on an unknown id answers EXPIRED and creates nothing`, async () => {
          const store = await options.makeStore()
          const before = dumpBackend ? await dumpBackend(store) : ''
          const id = unknownId()
          assertAnswer(await operation(store, id), EXPIRED, name)
          assert.equal(await store.load(id), null)
          if (dumpBackend) assert.equal(await dumpBackend(store), before, `${name} wrote to the backend`)
        })

        capabilityCase(
          {
            server: `${name} after delete answers GONE (a purge marker) and does not resurrect the record`,
            stateless: `${name} after delete still succeeds (delete cannot reach the value)`,
          },
          async (store, serverSide) => {
            const id = await store.create(record({ a: 1 }), MINUTE)
            await store.delete(id)
            const result = await operation(store, id)
            if (serverSide) {
              assertAnswer(result, GONE, name)
              assert.equal(await store.load(id), null)
            } else {
              assert.ok(!isMissing(result), `${name} found no record`)
            }
          },
        )

        capabilityCase(
          {
            server: `${name} after a delete of an id the store never had answers GONE (a logout of an expired session still wins)`,
            stateless: `${name} on an unknown value answers EXPIRED, even after a delete`,
          },
          async (store, serverSide) => {
            const id = unknownId()
            await store.delete(id)
            assertAnswer(await operation(store, id), serverSide ? GONE : EXPIRED, name)
            assert.equal(await store.load(id), null)
          },
        )

        capabilityCase(
          {
            server: `${name} on an id renewed away answers RENEWED and changes nothing`,
            stateless: `${name} on a value renewed away still succeeds (the old value is not revoked)`,
          },
          async (store, serverSide) => {
            const id = await store.create(record({ a: 1 }), MINUTE)
            const renewed = await store.renew(id, changes({ set: { a: 2 } }), MINUTE)
            assert.ok(!isMissing(renewed))
            const result = await operation(store, id)
            if (serverSide) {
              assertAnswer(result, RENEWED, name)
              assert.equal(await store.load(id), null)
              assert.deepEqual((await store.load(renewed))?.data, { a: 2 }, 'the renewed record changed')
            } else {
              assert.ok(!isMissing(result), `${name} found no record`)
            }
          },
        )

        capabilityCase(
          {
            server: `${name} on an id renewed away and then deleted answers GONE, on the old and on the new id`,
            stateless: `${name} on a value renewed away and then deleted still succeeds`,
          },
          async (store, serverSide) => {
            const id = await store.create(record({ a: 1 }), MINUTE)
            const renewed = await store.renew(id, NO_CHANGES, MINUTE)
            assert.ok(!isMissing(renewed))
            await store.delete(id)
            if (serverSide) {
              assertAnswer(await operation(store, id), GONE, `${name} on the old id`)
              assertAnswer(await operation(store, renewed), GONE, `${name} on the new id`)
              assert.equal(await store.load(renewed), null)
            } else {
              assert.ok(!isMissing(await operation(store, id)))
            }
          },
        )
      }
    })

    if (options.takes === false) {
      it('offers no take (declared takes: false)', async () => {
        const store = await options.makeStore()
        assert.equal(store.take, undefined)
      })
    }

    if (options.takes !== false) describe('take: one key removed and returned atomically', () => {
      type TakingStore = SessionStore & Required<Pick<SessionStore, 'take'>>
      async function takingStore(): Promise<TakingStore> {
        const store = await options.makeStore()
        assert.equal(typeof store.take, 'function', 'the store has no take (declare takes: false if it cannot take atomically)')
        return store as TakingStore
      }

      it('returns the value and removes that key only; a second take finds nothing', async () => {
        const store = await takingStore()
        const id = await store.create(record({ a: 1, '~flash:notice': { text: 'Saved', n: [1, 2] }, b: null }), MINUTE)
        assert.deepEqual(await store.take(id, '~flash:notice'), { text: 'Saved', n: [1, 2] })
        assert.deepEqual((await store.load(id))?.data, { a: 1, b: null })
        assert.equal(await store.take(id, '~flash:notice'), undefined)
        assert.deepEqual((await store.load(id))?.data, { a: 1, b: null })
      })

      it('returns null for a key holding null, and undefined for an absent key (changing nothing)', async () => {
        const store = await takingStore()
        const id = await store.create(record({ a: 1, nothing: null }), MINUTE)
        assert.equal(await store.take(id, 'absent'), undefined)
        assert.deepEqual((await store.load(id))?.data, { a: 1, nothing: null })
        assert.equal(await store.take(id, 'nothing'), null)
        assert.deepEqual((await store.load(id))?.data, { a: 1 })
      })

      it('takes odd keys as plain keys', async () => {
        const store = await takingStore()
        const odd = ['a.b', '$x', 'q"k\\', '', '__proto__', '\u00e9\u{1F600}']
        const data: Record<string, Json> = {}
        for (const [i, key] of odd.entries()) Object.defineProperty(data, key, { value: i, enumerable: true, writable: true, configurable: true })
        const id = await store.create(record(data), MINUTE)
        for (const [i, key] of odd.entries()) assert.equal(await store.take(id, key), i, `take of ${JSON.stringify(key)}`)
        assert.deepEqual((await store.load(id))?.data, {})
      })

      it('finds nothing under an unknown id, a deleted one (where delete ends sessions) or one renewed away, and creates nothing', async () => {
        const store = await takingStore()
        const unknown = unknownId()
        assert.equal(await store.take(unknown, 'a'), undefined)
        assert.equal(await store.load(unknown), null)
        const renewedAway = await store.create(record({ a: 1 }), MINUTE)
        const renewed = await store.renew(renewedAway, NO_CHANGES, MINUTE)
        assert.ok(!isMissing(renewed))
        if (canInvalidate(store)) {
          assert.equal(await store.take(renewedAway, 'a'), undefined)
          const deleted = await store.create(record({ a: 1 }), MINUTE)
          await store.delete(deleted)
          assert.equal(await store.take(deleted, 'a'), undefined)
          assert.equal(await store.load(deleted), null)
        }
        assert.deepEqual((await store.load(renewed))?.data, { a: 1 })
      })

      it('of 8 concurrent takes of one key, exactly one gets the value (10 records in parallel)', async () => {
        const store = await takingStore()
        const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(record({ i, '~flash:n': `v${i}` }), MINUTE)))
        const results = await Promise.all(ids.map((id) => Promise.all(Array.from({ length: 8 }, () => store.take(id, '~flash:n')))))
        for (const [i, takes] of results.entries()) {
          const delivered = takes.filter((value) => value !== undefined)
          assert.deepEqual(delivered, [`v${i}`], `record ${i}: the flash was delivered ${delivered.length} times`)
          assert.deepEqual((await store.load(ids[i] as string))?.data, { i })
        }
      })

      it('a take racing an apply of other keys: both land', async () => {
        const store = await takingStore()
        const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(record({ i, '~flash:n': i }), MINUTE)))
        const results = await Promise.all(ids.map((id) => Promise.all([store.take(id, '~flash:n'), store.apply(id, changes({ set: { other: 'o' } }), MINUTE)])))
        for (const [i, [taken, applied]] of results.entries()) {
          assert.equal(taken, i)
          assert.ok(!isMissing(applied))
          assert.deepEqual((await store.load(applied))?.data, { i, other: 'o' }, `record ${i}`)
        }
      })
    })

    describe('renew', () => {
      it('moves the record to a different id with the changes applied, keeping createdAt and absoluteExpiresAt', async () => {
        const store = await options.makeStore()
        const createdAt = Date.now() - 5000
        const absoluteExpiresAt = Date.now() + 3_600_000
        const id = await store.create({ data: { a: 1, b: 2 }, createdAt, absoluteExpiresAt }, MINUTE)
        const renewed = await store.renew(id, changes({ remove: ['a'], set: { b: 3, user: 'ferris' } }), MINUTE)
        assert.ok(!isMissing(renewed))
        assert.notEqual(renewed, id)
        assert.deepEqual(await store.load(renewed), { data: { b: 3, user: 'ferris' }, createdAt, absoluteExpiresAt })
      })

      capabilityCase(
        {
          server: 'after renew the old id loads null at once, and apply/touch on it answer RENEWED',
          stateless: 'after renew the old value still loads its old data (the documented limit)',
        },
        async (store, serverSide) => {
          const id = await store.create(record({ a: 1 }), MINUTE)
          const renewed = await store.renew(id, changes({ set: { a: 2 } }), MINUTE)
          assert.ok(!isMissing(renewed))
          if (serverSide) {
            assert.equal(await store.load(id), null)
            assertAnswer(await store.apply(id, changes({ set: { b: 1 } }), MINUTE), RENEWED, 'apply')
            assertAnswer(await store.touch(id, MINUTE), RENEWED, 'touch')
            assert.deepEqual((await store.load(renewed))?.data, { a: 2 })
          } else {
            assert.deepEqual((await store.load(id))?.data, { a: 1 })
          }
        },
      )

      capabilityCase(
        {
          server: 'delete of the old id just after a renew ends the new session too (forwarding marker)',
          stateless: 'delete of the old value after a renew leaves the new value loading',
        },
        async (store, serverSide) => {
          const id = await store.create(record({ a: 1 }), MINUTE)
          const renewed = await store.renew(id, NO_CHANGES, MINUTE)
          assert.ok(!isMissing(renewed))
          await store.delete(id)
          const loaded = await store.load(renewed)
          if (serverSide) assert.equal(loaded, null)
          else assert.deepEqual(loaded?.data, { a: 1 })
        },
      )

      capabilityCase(
        {
          server: 'a chain of renews is followed by delete of the first id',
          stateless: 'a chain of renews leaves every value loading after a delete',
        },
        async (store, serverSide) => {
          const first = await store.create(record({ a: 1 }), MINUTE)
          const second = await store.renew(first, NO_CHANGES, MINUTE)
          assert.ok(!isMissing(second))
          const third = await store.renew(second, NO_CHANGES, MINUTE)
          assert.ok(!isMissing(third))
          await store.delete(first)
          if (serverSide) assert.equal(await store.load(third), null)
          else assert.notEqual(await store.load(third), null)
        },
      )
    })

    describe('owners: sessions filed by user', () => {
      it('keeps the owner a record was created with, and loads none for a record created without', async () => {
        const store = await options.makeStore()
        const owned = await store.create({ ...record({ a: 1 }), owner: owner('u1') }, MINUTE)
        const plain = await store.create(record({ a: 1 }), MINUTE)
        assert.deepEqual((await store.load(owned))?.owner, owner('u1'))
        assert.equal((await store.load(plain))?.owner, undefined)
      })

      it('apply files, refreshes and unfiles the owner, and leaves it alone when the change set says nothing', async () => {
        const store = await options.makeStore()
        let id = await store.create(record({ a: 1 }), MINUTE)
        const filed = await store.apply(id, changes({ owner: owner('u1') }), MINUTE)
        assert.ok(!isMissing(filed))
        id = filed
        assert.deepEqual((await store.load(id))?.owner, owner('u1'))
        const untouched = await store.apply(id, changes({ set: { b: 2 } }), MINUTE)
        assert.ok(!isMissing(untouched))
        id = untouched
        assert.deepEqual((await store.load(id))?.owner, owner('u1'), 'a change set without owner changed the owner')
        const refreshed = { ...owner('u1'), lastSeenAt: owner('u1').lastSeenAt + 60_000 }
        const again = await store.apply(id, changes({ owner: refreshed }), MINUTE)
        assert.ok(!isMissing(again))
        id = again
        assert.deepEqual((await store.load(id))?.owner, refreshed)
        const unfiled = await store.apply(id, changes({ owner: null }), MINUTE)
        assert.ok(!isMissing(unfiled))
        assert.equal((await store.load(unfiled))?.owner, undefined)
        assert.deepEqual((await store.load(unfiled))?.data, { a: 1, b: 2 })
      })

      it('renew keeps the owner, handle included', async () => {
        const store = await options.makeStore()
        const id = await store.create({ ...record({ a: 1 }), owner: owner('u1') }, MINUTE)
        const renewed = await store.renew(id, changes({ set: { b: 2 } }), MINUTE)
        assert.ok(!isMissing(renewed))
        assert.deepEqual((await store.load(renewed))?.owner, owner('u1'))
      })

      it('renew can change the owner in the same step (a login)', async () => {
        const store = await options.makeStore()
        const id = await store.create(record({ cart: 1 }), MINUTE)
        const renewed = await store.renew(id, changes({ set: { userId: 'u2' }, owner: owner('u2') }), MINUTE)
        assert.ok(!isMissing(renewed))
        assert.deepEqual((await store.load(renewed))?.owner, owner('u2'))
      })
    })

    if (options.listsByUser === false) {
      it('offers no listing of a user\'s sessions (declared listsByUser: false)', async () => {
        const store = await options.makeStore()
        assert.equal(store.listByUser, undefined)
      })
    }

    if (options.listsByUser !== false) describe('listing and revoking a user\'s sessions', () => {
      type ListingStore = SessionStore & Required<Pick<SessionStore, 'listByUser' | 'revokeByUser'>>
      async function listingStore(): Promise<ListingStore> {
        const store = await options.makeStore()
        assert.equal(typeof store.listByUser, 'function', 'the store has no listByUser (declare listsByUser: false if it cannot list)')
        assert.equal(typeof store.revokeByUser, 'function', 'a store that lists sessions must revoke them too')
        return store as ListingStore
      }

      async function filed(store: SessionStore, userId: string, handle: string, createdAt: number, ttl = MINUTE): Promise<string> {
        return store.create({ data: { userId }, createdAt, absoluteExpiresAt: null, owner: { ...owner(userId), handle } }, ttl)
      }

      it('lists the live sessions of one user only, newest first, with their metadata', async () => {
        const store = await listingStore()
        const user = uniqueUser()
        const now = Date.now()
        await filed(store, user, 'h-old', now - 2000)
        await filed(store, user, 'h-new', now)
        await filed(store, uniqueUser(), 'h-other', now)
        await store.create({ data: {}, createdAt: now, absoluteExpiresAt: null }, MINUTE)
        const listed = await store.listByUser(user)
        assert.deepEqual(
          listed.map((entry) => entry.handle),
          ['h-new', 'h-old'],
        )
        const [newest] = listed
        assert.ok(newest)
        assert.equal(newest.createdAt, now)
        assert.equal(newest.lastSeenAt, owner(user).lastSeenAt)
        assert.deepEqual(newest.info, owner(user).info)
        assert.ok(newest.expiresAt > Date.now() && newest.expiresAt <= Date.now() + MINUTE + 1000, `expiresAt ${newest.expiresAt} is not the idle expiry`)
      })

      it('never lists a session that no longer loads: deleted, unfiled or renewed (then under its new id, same handle)', async () => {
        const store = await listingStore()
        const user = uniqueUser()
        const deleted = await filed(store, user, 'h-deleted', Date.now())
        const unfiled = await filed(store, user, 'h-unfiled', Date.now())
        const renewedFrom = await filed(store, user, 'h-renewed', Date.now())
        await store.delete(deleted)
        assert.ok(!isMissing(await store.apply(unfiled, changes({ owner: null }), MINUTE)))
        const renewed = await store.renew(renewedFrom, NO_CHANGES, MINUTE)
        assert.ok(!isMissing(renewed))
        const listed = await store.listByUser(user)
        assert.deepEqual(
          listed.map((entry) => entry.handle),
          ['h-renewed'],
        )
        // Revoking by that handle ends the renewed record, not only the old id.
        assert.equal(await store.revokeByUser(user, { handles: ['h-renewed'] }), 1)
        assert.equal(await store.load(renewed), null)
      })

      it('revokes the sessions with the given handles, and only that user\'s', async () => {
        const store = await listingStore()
        const user = uniqueUser()
        const other = uniqueUser()
        const a = await filed(store, user, 'h-a', Date.now())
        const b = await filed(store, user, 'h-b', Date.now())
        const theirs = await filed(store, other, 'h-theirs', Date.now())
        assert.equal(await store.revokeByUser(user, { handles: ['h-a', 'h-theirs', 'h-unknown'] }), 1)
        assert.equal(await store.load(a), null)
        assert.notEqual(await store.load(b), null)
        assert.notEqual(await store.load(theirs), null, "another user's session was revoked through a handle")
        // Revoked as delete does: a write racing it is dropped.
        assertAnswer(await store.apply(a, changes({ set: { late: true } }), MINUTE), GONE, 'apply on a revoked session')
      })

      it('revokes every session of the user but one ("sign out my other devices")', async () => {
        const store = await listingStore()
        const user = uniqueUser()
        const keep = await filed(store, user, 'h-keep', Date.now())
        const others = await Promise.all(['h-1', 'h-2', 'h-3'].map((handle) => filed(store, user, handle, Date.now())))
        const bystander = await filed(store, uniqueUser(), 'h-bystander', Date.now())
        assert.equal(await store.revokeByUser(user, { except: 'h-keep' }), 3)
        for (const id of others) assert.equal(await store.load(id), null)
        assert.notEqual(await store.load(keep), null)
        assert.notEqual(await store.load(bystander), null)
        assert.deepEqual(
          (await store.listByUser(user)).map((entry) => entry.handle),
          ['h-keep'],
        )
        assert.equal(await store.revokeByUser(user, {}), 1)
        assert.equal(await store.load(keep), null)
      })

      it('lists and revokes 1,000 sessions of one user in one call each', async () => {
        const store = await listingStore()
        const user = uniqueUser()
        const base = Date.now()
        const ids: string[] = []
        for (let batch = 0; batch < 10; batch++) {
          ids.push(...(await Promise.all(Array.from({ length: 100 }, (_, i) => filed(store, user, `h-${batch * 100 + i}`, base - batch * 100 - i)))))
        }
        const listed = await store.listByUser(user)
        assert.equal(listed.length, 1000)
        assert.equal(listed[0]?.handle, 'h-0')
        assert.equal(await store.revokeByUser(user, {}), 1000)
        assert.deepEqual(await store.listByUser(user), [])
        for (const id of [ids[0]!, ids[500]!, ids[999]!]) assert.equal(await store.load(id), null)
      })
    })

    const { expireMarkers } = options
    if (expireMarkers) {
      describe('markers end with their window', () => {
        capabilityCase(
          {
            server: 'a delete of the old id after the forwarding window leaves the renewed session alone',
            stateless: 'a delete after a renew leaves the renewed value loading',
          },
          async (store, serverSide) => {
            const id = await store.create(record({ a: 1 }), LONG_TTL)
            const renewed = await store.renew(id, changes({ set: { a: 2 } }), LONG_TTL)
            assert.ok(!isMissing(renewed))
            await expireMarkers(store)
            if (serverSide) assertAnswer(await store.apply(id, changes({ set: { b: 1 } }), LONG_TTL), EXPIRED, 'apply on the old id')
            await store.delete(id)
            assert.deepEqual((await store.load(renewed))?.data, { a: 2 }, 'an expired forwarding marker was followed')
          },
        )

        capabilityCase(
          {
            server: 'after the purge window, a write to a deleted id answers EXPIRED',
            stateless: 'after a delete, a write to the value still succeeds',
          },
          async (store, serverSide) => {
            const id = await store.create(record({ a: 1 }), LONG_TTL)
            await store.delete(id)
            await expireMarkers(store)
            const result = await store.apply(id, changes({ set: { b: 1 } }), LONG_TTL)
            if (serverSide) assertAnswer(result, EXPIRED, 'apply')
            else assert.ok(!isMissing(result))
          },
        )
      })
    }

    if (dumpBackend) {
      describe('at rest', () => {
        it('holds no raw session id, nor any encoding of one, after create, apply and renew', async () => {
          const store = await options.makeStore()
          const created = await store.create(record({ user: 'ferris' }), MINUTE)
          const applied = await store.apply(created, changes({ set: { n: 1 } }), MINUTE)
          assert.ok(!isMissing(applied))
          const renewed = await store.renew(applied, changes({ set: { n: 2 } }), MINUTE)
          assert.ok(!isMissing(renewed))
          const dump = await dumpBackend(store)
          assert.ok(dump.includes('ferris'), 'dumpBackend must return what the backend holds (the data was not in it)')
          for (const id of new Set([created, applied, renewed])) assertNoIdIn(dump, id)
        })
      })
    }
  })
}
