import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConfigError, StoreError } from '../../src/core/errors.js'
import type { Json } from '../../src/core/json.js'
import { EXPIRED, GONE, MARKER_WINDOW_MS, RENEWED } from '../../src/core/store.js'
import type { ChangeSet, SessionRecord, SessionStore } from '../../src/core/store.js'
import { storageKey } from '../../src/stores/shared/ids.js'
import type * as Ids from '../../src/stores/shared/ids.js'
import { MAX_SQL_KEYS, supportsQuotedLabels } from '../../src/stores/sqlite/change-sql.js'
import { SqliteStore } from '../../src/stores/sqlite/index.js'
import { Lru } from '../../src/stores/sqlite/lru.js'
import { defineRevocationListConformance, defineStoreConformance } from '../../src/testing/index.js'

// A stubbed RNG lets the collision tests force `create` and `renew` onto a taken key.
const forcedIds = vi.hoisted(() => ({ queue: [] as string[] }))
vi.mock('../../src/stores/shared/ids.js', async (importOriginal) => {
  const real = await importOriginal<typeof Ids>()
  return { ...real, randomId: (bytes?: number): string => forcedIds.queue.shift() ?? real.randomId(bytes) }
})

const MINUTE = 60_000
const dir = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-'))
const opened: Database.Database[] = []
let fileCount = 0

function openFile(path = join(dir, `s${++fileCount}.db`)): Database.Database {
  const db = new Database(path)
  opened.push(db)
  return db
}

function openMemory(): Database.Database {
  const db = new Database(':memory:')
  opened.push(db)
  return db
}

async function fileStore(options: Partial<ConstructorParameters<typeof SqliteStore>[0]> = {}): Promise<SqliteStore> {
  const store = new SqliteStore({ db: openFile(), ...options })
  await store.migrate()
  return store
}

// The conformance stores judge time by a clock of their own, which advanceClock and expireMarkers move forward.
const clocks = new WeakMap<SessionStore, { offset: number }>()

async function clockedStore(db: Database.Database): Promise<SqliteStore> {
  const clock = { offset: 0 }
  const store = new SqliteStore({ db, clock: () => Date.now() + clock.offset })
  clocks.set(store, clock)
  await store.migrate()
  return store
}

function advanceClock(store: SessionStore, ms: number): void {
  clocks.get(store)!.offset += ms
}

async function expireMarkers(store: SessionStore): Promise<void> {
  advanceClock(store, MARKER_WINDOW_MS + 1)
}

function record(data: Record<string, Json>, absoluteExpiresAt: number | null = null): SessionRecord {
  return { data, createdAt: Date.now(), absoluteExpiresAt }
}

// node:assert rather than toStrictEqual: vitest's type check reads `.constructor`, which an own
// "constructor" key (one of the odd keys) replaces.
function expectData(actual: SessionRecord | null, expected: Record<string, Json>): void {
  assert.ok(actual, 'the record did not load')
  assert.deepStrictEqual(actual.data, expected)
}

function changes(partial: Partial<ChangeSet>): ChangeSet {
  return { clear: false, set: {}, remove: [], ...partial }
}

function rowCount(store: SqliteStore): number {
  return (store.db.prepare(`SELECT count(*) AS n FROM "${store.table}"`).get() as { n: number }).n
}

function rowsOf(store: SqliteStore): Record<string, unknown>[] {
  return store.db.prepare(`SELECT * FROM "${store.table}" ORDER BY key`).all() as Record<string, unknown>[]
}

// Every row as text, then the database file's raw bytes after a checkpoint, so that an id could
// hide neither in a column nor in a page the WAL has not yet written back.
async function dumpBackend(store: SessionStore): Promise<string> {
  const sqlite = store as SqliteStore
  const rows = JSON.stringify(rowsOf(sqlite))
  const db = sqlite.db as Database.Database
  if (db.memory) return rows
  db.pragma('wal_checkpoint(TRUNCATE)')
  const files = [db.name, `${db.name}-wal`].filter((path) => existsSync(path))
  return [rows, ...files.map((path) => readFileSync(path).toString('latin1'))].join('\n')
}

afterAll(() => {
  for (const db of opened) if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

defineStoreConformance({
  name: 'SqliteStore (file, WAL)',
  test: { describe, it, beforeAll, afterAll },
  makeStore: () => clockedStore(openFile()),
  dumpBackend,
  advanceClock,
  expireMarkers,
})

defineStoreConformance({
  name: 'SqliteStore (:memory:)',
  test: { describe, it, beforeAll, afterAll },
  makeStore: () => clockedStore(openMemory()),
  dumpBackend,
  advanceClock,
  expireMarkers,
})

defineRevocationListConformance({
  name: 'SqliteStore',
  test: { describe, it },
  makeList: async () => (await clockedStore(openMemory())).revocationList(),
})

describe('SqliteStore: setup', () => {
  it('puts a file database in WAL mode with synchronous=NORMAL by default', async () => {
    const store = await fileStore()
    const db = store.db as Database.Database
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('synchronous', { simple: true })).toBe(1)
  })

  it('leaves the journal mode alone with wal: false', async () => {
    const store = await fileStore({ wal: false })
    expect((store.db as Database.Database).pragma('journal_mode', { simple: true })).toBe('delete')
  })

  it('sets the connection busy timeout to timeoutMs', async () => {
    const store = await fileStore({ timeoutMs: 1234 })
    expect((store.db as Database.Database).pragma('busy_timeout', { simple: true })).toBe(1234)
  })

  it.each(['my-sessions', 'a b', 'x"y', '1table', '', 'sqlite_sessions', 'main.sessions', 'a'.repeat(64)])(
    'refuses the table name %j with a ConfigError naming the fix',
    (table) => {
      expect(() => new SqliteStore({ db: openMemory(), table })).toThrow(ConfigError)
      expect(() => new SqliteStore({ db: openMemory(), table })).toThrow(/letters, digits or underscores/)
    },
  )

  it('quotes the table name, so an SQL keyword works as one', async () => {
    const store = new SqliteStore({ db: openMemory(), table: 'order' })
    await store.migrate()
    const id = await store.create(record({ a: 1 }), MINUTE)
    expect((await store.load(id))?.data).toEqual({ a: 1 })
  })

  it('keeps two tables in one database apart', async () => {
    const db = openFile()
    const left = new SqliteStore({ db, table: 'left_sessions' })
    const right = new SqliteStore({ db, table: 'right_sessions' })
    await left.migrate()
    await right.migrate()
    const id = await left.create(record({ side: 'left' }), MINUTE)
    expect(await right.load(id)).toBeNull()
    expect(await right.apply(id, changes({ set: { b: 1 } }), MINUTE)).toBe(EXPIRED)
    expect((await left.load(id))?.data).toEqual({ side: 'left' })
  })

  it('migrates idempotently and creates the expires_at index', async () => {
    const store = await fileStore()
    await store.migrate()
    await store.migrate()
    const indexes = store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`).all(store.table)
    expect(indexes).toContainEqual({ name: 'cloakroom_sessions_expires_at' })
  })

  it('fails with a backend StoreError that says to migrate when the table is missing', async () => {
    const store = new SqliteStore({ db: openMemory() })
    const error = await store.load('x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({ kind: 'backend', message: expect.stringMatching(/migrate\(\)/) })
  })

  it('finds that this SQLite decodes escapes in quoted JSON path labels (so apply runs as one UPDATE)', () => {
    expect(supportsQuotedLabels(openMemory())).toBe(true)
  })
})

describe('SqliteStore: keys and values', () => {
  const oddKeys = [
    'a.b', 'q"k', '$', "''", '', '[0]', '🔑', '__proto__', 'constructor', 'back\\slash', '\\"', '"', '\\',
    'tab\tnew\nline', '\u2028', 'ctl\u0001', '$.x', 'a[b', 'a]b', '*', 'é', 'k'.repeat(500),
  ]

  function oddData(): Record<string, Json> {
    const data: Record<string, Json> = {}
    for (const [i, key] of oddKeys.entries()) Object.defineProperty(data, key, { value: { i, key }, enumerable: true, writable: true, configurable: true })
    return data
  }

  it('round-trips odd keys through create and load', async () => {
    const store = await fileStore()
    const id = await store.create(record(oddData()), MINUTE)
    expectData(await store.load(id), oddData())
  })

  it('sets odd keys through a single-UPDATE apply', async () => {
    const store = await fileStore()
    const id = await store.create(record({ keep: 1 }), MINUTE)
    expect(oddKeys.length).toBeLessThanOrEqual(MAX_SQL_KEYS)
    expect(await store.apply(id, changes({ set: oddData() }), MINUTE)).toBe(id)
    expectData(await store.load(id), { keep: 1, ...oddData() })
    expect(Object.getOwnPropertyDescriptor((await store.load(id))?.data, '__proto__')?.value).toEqual({ i: 7, key: '__proto__' })
  })

  it('removes odd keys through a single-UPDATE apply, leaving the others', async () => {
    const store = await fileStore()
    const id = await store.create(record({ ...oddData(), keep: 1 }), MINUTE)
    expect(await store.apply(id, changes({ remove: oddKeys }), MINUTE)).toBe(id)
    expect((await store.load(id))?.data).toStrictEqual({ keep: 1 })
  })

  it('sets and removes odd keys through a change set too large for one statement (merged in a transaction)', async () => {
    const store = await fileStore()
    const id = await store.create(record({ ...oddData(), keep: 1 }), MINUTE)
    const filler = Object.fromEntries(Array.from({ length: MAX_SQL_KEYS + 1 }, (_, i) => [`f${i}`, i]))
    expect(await store.apply(id, changes({ remove: oddKeys, set: filler }), MINUTE)).toBe(id)
    expect((await store.load(id))?.data).toStrictEqual({ keep: 1, ...filler })
    expect(await store.apply(id, changes({ set: { ...filler, ...oddData() } }), MINUTE)).toBe(id)
    expectData(await store.load(id), { keep: 1, ...filler, ...oddData() })
  })

  it('carries odd keys through renew', async () => {
    const store = await fileStore()
    const id = await store.create(record({ a: 1 }), MINUTE)
    const renewed = await store.renew(id, changes({ remove: ['a'], set: oddData() }), MINUTE)
    expectData(await store.load(renewed as string), oddData())
  })

  it('applies a 10,000-key change set, and removes 10,000 keys', async () => {
    const store = await fileStore()
    const id = await store.create(record({ keep: true, gone: 1 }), MINUTE)
    const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`key.${i}`, { i }]))
    expect(await store.apply(id, changes({ remove: ['gone'], set: many }), MINUTE)).toBe(id)
    expect((await store.load(id))?.data).toStrictEqual({ keep: true, ...many })
    expect(await store.apply(id, changes({ remove: Object.keys(many) }), MINUTE)).toBe(id)
    expect((await store.load(id))?.data).toStrictEqual({ keep: true })
  })

  it('applies change sets of many shapes correctly while its statement cache stays bounded', async () => {
    const store = await fileStore()
    const id = await store.create(record({}), MINUTE)
    const expected: Record<string, Json> = {}
    // 32 × 3 = 96 distinct (set count, remove count) shapes, more than the 64 the cache holds.
    for (let sets = 1; sets <= MAX_SQL_KEYS; sets++) {
      for (let removes = 0; removes < 3; removes++) {
        const set = Object.fromEntries(Array.from({ length: sets }, (_, i) => [`s${sets}.${removes}.${i}`, i]))
        const remove = Array.from({ length: removes }, (_, i) => `s${sets - 1}.${removes}.${i}`)
        for (const key of remove) delete expected[key]
        Object.assign(expected, set)
        expect(await store.apply(id, changes({ set, remove }), MINUTE)).toBe(id)
      }
    }
    expect((await store.load(id))?.data).toStrictEqual(expected)
  })

  it('evicts the least recently used statement once over capacity', () => {
    const cache = new Lru<string, number>(2)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.get('a')
    cache.set('c', 3)
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.size]).toEqual([1, undefined, 3, 2])
  })

  it('writes only the SHA-256 storage key, never the id', async () => {
    const store = await fileStore()
    const id = await store.create(record({ a: 1 }), MINUTE)
    expect(rowsOf(store).map((row) => row['key'])).toEqual([storageKey(id)])
  })

  it('refuses a value JSON cannot carry with an encode StoreError, writing nothing', async () => {
    const store = await fileStore()
    const error = await store.create(record({ n: 10n as unknown as Json }), MINUTE).catch((e: unknown) => e)
    expect(error).toMatchObject({ kind: 'encode' })
    expect(rowCount(store)).toBe(0)
  })
})

describe('SqliteStore: corrupt rows', () => {
  async function corruptRow(data: string, column = 'data'): Promise<{ store: SqliteStore; id: string }> {
    const store = await fileStore()
    const id = await store.create(record({ a: 1 }), MINUTE)
    store.db.prepare(`UPDATE "${store.table}" SET ${column} = ? WHERE key = ?`).run(data, storageKey(id))
    return { store, id }
  }

  it.each(['{not json', '[1,2]', 'null', '"text"'])('loads data %j as no session, without throwing, and drops the row', async (data) => {
    const { store, id } = await corruptRow(data)
    expect(await store.load(id)).toBeNull()
    expect(rowCount(store)).toBe(0)
  })

  it('loads a non-numeric created_at as no session', async () => {
    const { store, id } = await corruptRow('yesterday', 'created_at')
    expect(await store.load(id)).toBeNull()
  })

  it('answers EXPIRED (no record, no marker) for apply, touch and renew on a row holding invalid JSON', async () => {
    const { store, id } = await corruptRow('{not json')
    expect(await store.apply(id, changes({ set: { b: 1 } }), MINUTE)).toBe(EXPIRED)
    expect(await store.apply(id, changes({ set: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])) }), MINUTE)).toBe(EXPIRED)
    expect(await store.touch(id, MINUTE)).toBe(EXPIRED)
    expect(await store.renew(id, changes({}), MINUTE)).toBe(EXPIRED)
  })
})

describe('SqliteStore: the application clock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('expires a record when Date.now() passes its ttl (fake timers drive expiry)', async () => {
    const store = await fileStore()
    vi.useFakeTimers({ toFake: ['Date'] })
    const id = await store.create(record({ a: 1 }), 1000)
    vi.setSystemTime(Date.now() + 999)
    expect(await store.load(id)).not.toBeNull()
    vi.setSystemTime(Date.now() + 1)
    expect(await store.load(id)).toBeNull()
  })

  it('stops forwarding delete to a renewed session after 60 s', async () => {
    const store = await fileStore()
    vi.useFakeTimers({ toFake: ['Date'] })
    const id = await store.create(record({ a: 1 }), 10 * MINUTE)
    const renewed = (await store.renew(id, changes({}), 10 * MINUTE)) as string
    vi.setSystemTime(Date.now() + MINUTE)
    await store.delete(id)
    expect((await store.load(renewed))?.data).toEqual({ a: 1 })
  })

  it('follows a chain of renew markers on delete', async () => {
    const store = await fileStore()
    const first = await store.create(record({ a: 1 }), MINUTE)
    const second = (await store.renew(first, changes({}), MINUTE)) as string
    const third = (await store.renew(second, changes({}), MINUTE)) as string
    await store.delete(first)
    expect(await store.load(third)).toBeNull()
    // Every id of the chain is left a purge marker holding no data.
    expect(rowsOf(store).map((row) => [row['data'], row['forward_to']])).toEqual([['{}', ''], ['{}', ''], ['{}', '']])
    expect(await store.apply(third, changes({ set: { b: 1 } }), MINUTE)).toBe(GONE)
  })

  it('deletes expired rows in batches, yielding to the event loop between them, and keeps live ones', async () => {
    const store = await fileStore()
    vi.useFakeTimers({ toFake: ['Date'] })
    for (let i = 0; i < 2500; i++) await store.create(record({ i }), 1000)
    const live = await store.create(record({ live: true }), 10 * MINUTE)
    vi.setSystemTime(Date.now() + 2000)
    let seenMidway = -1
    const running = store.deleteExpired({ batchSize: 1000 })
    setImmediate(() => {
      seenMidway = rowCount(store)
    })
    expect(await running).toBe(2500)
    expect(seenMidway).toBeGreaterThan(1)
    expect(seenMidway).toBeLessThan(2501)
    expect(rowCount(store)).toBe(1)
    expect((await store.load(live))?.data).toEqual({ live: true })
  })

  it('deletes spent renew markers as expired rows', async () => {
    const store = await fileStore()
    vi.useFakeTimers({ toFake: ['Date'] })
    const id = await store.create(record({ a: 1 }), 10 * MINUTE)
    await store.renew(id, changes({}), 10 * MINUTE)
    vi.setSystemTime(Date.now() + MINUTE + 1)
    expect(await store.deleteExpired()).toBe(1)
    expect(rowCount(store)).toBe(1)
  })

  it('deletes spent purge markers as expired rows', async () => {
    const store = await fileStore()
    vi.useFakeTimers({ toFake: ['Date'] })
    const id = await store.create(record({ a: 1 }), 10 * MINUTE)
    await store.delete(id)
    vi.setSystemTime(Date.now() + MINUTE - 1)
    expect(await store.deleteExpired()).toBe(0)
    expect(await store.apply(id, changes({ set: { b: 1 } }), MINUTE)).toBe(GONE)
    vi.setSystemTime(Date.now() + 2)
    expect(await store.apply(id, changes({ set: { b: 1 } }), MINUTE)).toBe(EXPIRED)
    expect(await store.deleteExpired()).toBe(1)
    expect(rowCount(store)).toBe(0)
  })

  it('wipes the data at delete: the purge marker keeps none of it', async () => {
    const store = await fileStore()
    const id = await store.create(record({ secret: 'hunter2' }), MINUTE)
    await store.delete(id)
    expect(JSON.stringify(rowsOf(store))).not.toContain('hunter2')
  })

  it('judges every instant by the clock option instead of Date.now()', async () => {
    let now = Date.now() + 86_400_000
    const store = await fileStore({ clock: () => now })
    const id = await store.create(record({ a: 1 }), 1000)
    expect(await store.load(id)).not.toBeNull()
    const renewed = (await store.renew(id, changes({}), 10 * MINUTE)) as string
    now += MINUTE
    expect(await store.apply(id, changes({ set: { b: 1 } }), MINUTE)).toBe(EXPIRED)
    await store.delete(id)
    expect((await store.load(renewed))?.data).toEqual({ a: 1 })
    now += 10 * MINUTE
    expect(await store.load(renewed)).toBeNull()
  })

  it('refuses a clock that is not a function with a ConfigError naming the fix', () => {
    expect(() => new SqliteStore({ db: openMemory(), clock: 12 as never })).toThrow(ConfigError)
    expect(() => new SqliteStore({ db: openMemory(), clock: 12 as never })).toThrow(/clock must be a function.*clock: \(\) => Date\.now\(\)/)
  })

  it('refuses a batchSize that is not a positive integer', async () => {
    const store = await fileStore()
    await expect(store.deleteExpired({ batchSize: 0 })).rejects.toThrow(ConfigError)
  })
})

describe('SqliteStore: two connections to one file', () => {
  async function pair(): Promise<[SqliteStore, SqliteStore]> {
    const path = join(dir, `pair${++fileCount}.db`)
    const a = new SqliteStore({ db: openFile(path) })
    await a.migrate()
    const b = new SqliteStore({ db: openFile(path) })
    return [a, b]
  }

  it("sees the other instance's writes", async () => {
    const [a, b] = await pair()
    const id = await a.create(record({ from: 'a' }), MINUTE)
    expect(await b.apply(id, changes({ set: { from: 'b' } }), MINUTE)).toBe(id)
    expect((await a.load(id))?.data).toEqual({ from: 'b' })
  })

  it('lands concurrent applies of different keys from both instances', async () => {
    const [a, b] = await pair()
    const id = await a.create(record({}), MINUTE)
    const big = (prefix: string): Record<string, Json> => Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${prefix}${i}`, i]))
    await Promise.all([
      ...Array.from({ length: 50 }, (_, i) => a.apply(id, changes({ set: { [`a${i}`]: i } }), MINUTE)),
      ...Array.from({ length: 50 }, (_, i) => b.apply(id, changes({ set: { [`b${i}`]: i } }), MINUTE)),
      a.apply(id, changes({ set: big('A') }), MINUTE),
      b.apply(id, changes({ set: big('B') }), MINUTE),
    ])
    expect(Object.keys((await a.load(id))?.data ?? {})).toHaveLength(180)
  })

  it('lets a purge win: load, delete from the other instance, then apply returns GONE and creates nothing', async () => {
    const [a, b] = await pair()
    const id = await a.create(record({ user: 'ferris' }), MINUTE)
    expect(await a.load(id)).not.toBeNull()
    await b.delete(id)
    expect(await a.apply(id, changes({ set: { late: true } }), MINUTE)).toBe(GONE)
    expect(await a.touch(id, MINUTE)).toBe(GONE)
    expect(await a.renew(id, changes({}), MINUTE)).toBe(GONE)
    expect(rowsOf(a)).toMatchObject([{ key: storageKey(id), data: '{}', forward_to: '' }])
  })

  it('answers RENEWED on one instance for an id the other renewed away, changing nothing', async () => {
    const [a, b] = await pair()
    const id = await a.create(record({ user: 'ferris' }), MINUTE)
    const renewed = (await b.renew(id, changes({ set: { role: 'admin' } }), MINUTE)) as string
    expect(await a.apply(id, changes({ set: { late: true } }), MINUTE)).toBe(RENEWED)
    expect(await a.touch(id, MINUTE)).toBe(RENEWED)
    expect((await a.load(renewed))?.data).toEqual({ user: 'ferris', role: 'admin' })
  })

  it('ends a session renewed on one instance when the other deletes the old id', async () => {
    const [a, b] = await pair()
    const id = await a.create(record({ user: 'ferris' }), MINUTE)
    const renewed = (await a.renew(id, changes({}), MINUTE)) as string
    await b.delete(id)
    expect(await a.load(renewed)).toBeNull()
    expect(await a.apply(renewed, changes({ set: { late: true } }), MINUTE)).toBe(GONE)
  })

  it('times out with a timeout StoreError, naming no id, while the other connection holds the write lock', async () => {
    const path = join(dir, `locked${++fileCount}.db`)
    const store = new SqliteStore({ db: openFile(path), timeoutMs: 100 })
    await store.migrate()
    const id = await store.create(record({ a: 1 }), MINUTE)
    const other = openFile(path)
    other.exec('BEGIN IMMEDIATE')
    try {
      const started = performance.now()
      const error = await store.apply(id, changes({ set: { b: 1 } }), MINUTE).catch((e: unknown) => e)
      const waited = performance.now() - started
      expect(error).toBeInstanceOf(StoreError)
      expect(error).toMatchObject({ kind: 'timeout' })
      expect((error as Error).message).not.toContain(id)
      expect((error as Error).message).not.toContain(storageKey(id))
      expect(waited).toBeGreaterThanOrEqual(90)
      // Not a speed bound: far below better-sqlite3's own default (5000 ms), so timeoutMs took effect.
      expect(waited).toBeLessThan(4000)
      await expect(store.renew(id, changes({}), MINUTE)).rejects.toMatchObject({ kind: 'timeout' })
      await expect(store.delete(id)).rejects.toMatchObject({ kind: 'timeout' })
    } finally {
      other.exec('ROLLBACK')
    }
    expect((await store.load(id))?.data).toEqual({ a: 1 })
  })

  it('fails with an unavailable StoreError once the database is closed', async () => {
    const store = await fileStore()
    const id = await store.create(record({ a: 1 }), MINUTE)
    ;(store.db as Database.Database).close()
    await expect(store.load(id)).rejects.toMatchObject({ kind: 'unavailable' })
    await expect(store.apply(id, changes({ set: { b: 1 } }), MINUTE)).rejects.toBeInstanceOf(StoreError)
  })
})

describe('SqliteStore: create never overwrites', () => {
  it('retries with a fresh id when the first one is taken', async () => {
    const store = await fileStore()
    forcedIds.queue.push('taken-id')
    const first = await store.create(record({ owner: 'first' }), MINUTE)
    forcedIds.queue.push('taken-id')
    const second = await store.create(record({ owner: 'second' }), MINUTE)
    expect(first).toBe('taken-id')
    expect(second).not.toBe('taken-id')
    expect((await store.load('taken-id'))?.data).toEqual({ owner: 'first' })
    expect((await store.load(second))?.data).toEqual({ owner: 'second' })
  })

  it('gives up with a backend StoreError when every fresh id is taken, overwriting nothing', async () => {
    const store = await fileStore()
    forcedIds.queue.push('taken-id')
    await store.create(record({ owner: 'first' }), MINUTE)
    forcedIds.queue.push('taken-id', 'taken-id', 'taken-id')
    await expect(store.create(record({ owner: 'second' }), MINUTE)).rejects.toMatchObject({ kind: 'backend' })
    expect((await store.load('taken-id'))?.data).toEqual({ owner: 'first' })
    expect(rowCount(store)).toBe(1)
  })

  it('renews onto a fresh id when the first one is taken', async () => {
    const store = await fileStore()
    forcedIds.queue.push('taken-id')
    await store.create(record({ owner: 'bystander' }), MINUTE)
    const id = await store.create(record({ owner: 'renewer' }), MINUTE)
    forcedIds.queue.push('taken-id')
    const renewed = await store.renew(id, changes({}), MINUTE)
    expect(renewed).not.toBe('taken-id')
    expect((await store.load('taken-id'))?.data).toEqual({ owner: 'bystander' })
    expect((await store.load(renewed as string))?.data).toEqual({ owner: 'renewer' })
  })
})

describe('SqliteStore: several processes on one file', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const storeModule = pathToFileURL(fileURLToPath(new URL('../../src/stores/sqlite/index.ts', import.meta.url))).href
  const driverModule = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href
  const worker = join(dir, 'worker.mts')

  beforeAll(() => {
    writeFileSync(
      worker,
      `import { createRequire } from 'node:module'
const Database = createRequire(import.meta.url)(${JSON.stringify(fileURLToPath(driverModule))})
const { SqliteStore } = await import(${JSON.stringify(storeModule)})
const [mode, path, id, prefix] = process.argv.slice(2)
const store = new SqliteStore({ db: new Database(path), timeoutMs: 10000 })
if (mode === 'migrate') await store.migrate()
else {
  for (let i = 0; i < 100; i++) {
    const set = i % 10 === 0
      ? Object.fromEntries(Array.from({ length: 40 }, (_, j) => [prefix + i + '.' + j, j]))
      : { [prefix + i]: i }
    if ((await store.apply(id, { clear: false, remove: [], set }, 60000)) !== id) throw new Error('apply returned GONE')
  }
}
process.stdout.write('ok')
`,
    )
  })

  function run(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}: ${err}`))))
    })
  }

  it('migrates a fresh file from four processes at once', async () => {
    const path = join(dir, `multi${++fileCount}.db`)
    expect(await Promise.all([1, 2, 3, 4].map(() => run('migrate', path)))).toEqual(['ok', 'ok', 'ok', 'ok'])
    const store = new SqliteStore({ db: openFile(path) })
    const id = await store.create(record({ a: 1 }), MINUTE)
    expect((await store.load(id))?.data).toEqual({ a: 1 })
  }, 60_000)

  it('lands every apply of three processes writing different keys of one session at once', async () => {
    const store = await fileStore()
    const id = await store.create(record({ start: true }), 10 * MINUTE)
    const path = (store.db as Database.Database).name
    expect(await Promise.all(['p', 'q', 'r'].map((prefix) => run('apply', path, id, prefix)))).toEqual(['ok', 'ok', 'ok'])
    // Each process: 90 single-key applies plus 10 applies of 40 keys.
    expect(Object.keys((await store.load(id))?.data ?? {})).toHaveLength(1 + 3 * (90 + 10 * 40))
  }, 60_000)
})
