import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { StoreError } from '../../src/core/errors.js'
import { GONE, MARKER_WINDOW_MS } from '../../src/core/store.js'
import type { ChangeSet, SessionOwner, SessionRecord } from '../../src/core/store.js'
import { randomId, storageKey } from '../../src/stores/shared/ids.js'
import { SqliteStore } from '../../src/stores/sqlite/index.js'
import { Statements } from '../../src/stores/sqlite/statements.js'

// The SQLite store's side of "sessions filed by user" beyond the conformance suite: the schema
// upgrade, the index, privacy of ended rows, atomic filing, and the revocation list's expiry.

const MINUTE = 60_000
const dir = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-owners-'))
const opened: Database.Database[] = []
let fileCount = 0

function openFile(path = join(dir, `o${++fileCount}.db`)): Database.Database {
  const db = new Database(path)
  opened.push(db)
  return db
}

afterAll(() => {
  for (const db of opened) if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

const owner = (userId: string, handle = `h-${userId}`): SessionOwner => ({ userId, handle, lastSeenAt: 1_700_000_000_000, info: { userAgent: 'Firefox' } })
const record = (data: SessionRecord['data'], filed?: SessionOwner): SessionRecord => ({
  data,
  createdAt: Date.now(),
  absoluteExpiresAt: null,
  ...(filed === undefined ? {} : { owner: filed }),
})
const changes = (partial: Partial<ChangeSet>): ChangeSet => ({ clear: false, set: {}, remove: [], ...partial })

describe('SqliteStore: migrate upgrades a table of the previous release', () => {
  it('keeps its live session, which then loads unfiled and can be filed and listed', async () => {
    const db = openFile()
    // The schema `migrate()` created before sessions had owners, holding one live session as that
    // release wrote it.
    db.exec(`CREATE TABLE "cloakroom_sessions" (
      key TEXT NOT NULL PRIMARY KEY, data TEXT NOT NULL, created_at INTEGER NOT NULL,
      absolute_expires_at INTEGER, expires_at INTEGER NOT NULL, forward_to TEXT)`)
    db.exec(`CREATE INDEX "cloakroom_sessions_expires_at" ON "cloakroom_sessions" (expires_at)`)
    const id = randomId()
    const createdAt = Date.now() - 5000
    db.prepare(`INSERT INTO "cloakroom_sessions" (key, data, created_at, absolute_expires_at, expires_at) VALUES (?, ?, ?, NULL, ?)`).run(
      storageKey(id),
      JSON.stringify({ cart: ['tea'] }),
      createdAt,
      Date.now() + MINUTE,
    )

    const store = new SqliteStore({ db })
    await store.migrate()
    await store.migrate() // idempotent on the upgraded table

    expect(await store.load(id)).toEqual({ data: { cart: ['tea'] }, createdAt, absoluteExpiresAt: null })
    expect(await store.apply(id, changes({ set: { userId: 'u1' }, owner: owner('u1') }), MINUTE)).toBe(id)
    expect((await store.load(id))?.owner).toEqual(owner('u1'))
    expect((await store.listByUser('u1')).map((entry) => entry.handle)).toEqual(['h-u1'])
    const columns = (db.prepare(`SELECT name FROM pragma_table_info('cloakroom_sessions')`).all() as { name: string }[]).map((c) => c.name)
    expect(columns).toEqual(['key', 'data', 'created_at', 'absolute_expires_at', 'expires_at', 'forward_to', 'user_id', 'user_handle', 'last_seen_at', 'user_info'])
    await store.revocationList().set('u1', { before: 1 }, null)
    expect(await store.revocationList().get('u1')).toEqual({ before: 1 })
  })

  it('creates the same columns on a fresh table, a partial index on user_id, and the revocation table', async () => {
    const store = new SqliteStore({ db: openFile() })
    await store.migrate()
    const columns = (store.db.prepare(`SELECT name FROM pragma_table_info('cloakroom_sessions')`).all() as { name: string }[]).map((c) => c.name)
    expect(columns).toEqual(['key', 'data', 'created_at', 'absolute_expires_at', 'expires_at', 'forward_to', 'user_id', 'user_handle', 'last_seen_at', 'user_info'])
    const index = store.db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'cloakroom_sessions_user_id'`).get() as { sql: string } | undefined
    expect(index?.sql).toMatch(/ON "cloakroom_sessions" \(user_id\) WHERE user_id IS NOT NULL$/)
    const revocations = (store.db.prepare(`SELECT name FROM pragma_table_info('cloakroom_sessions_revocations')`).all() as { name: string }[]).map((c) => c.name)
    expect(revocations).toEqual(['user_id', 'before', 'except_handle', 'expires_at'])
  })

  it('lists a user\'s sessions through the user_id index, not a scan of the table', async () => {
    const store = new SqliteStore({ db: openFile() })
    await store.migrate()
    const listing = new Statements(store.db, store.table, true).listByUser as unknown as { source: string }
    const plan = store.db.prepare(`EXPLAIN QUERY PLAN ${listing.source}`).all('u1', Date.now()) as { detail: string }[]
    expect(plan.map((step) => step.detail).join('\n')).toMatch(/USING INDEX cloakroom_sessions_user_id \(user_id=\?\)/)
  })
})

describe('SqliteStore: owners', () => {
  async function fileStore(): Promise<SqliteStore> {
    const store = new SqliteStore({ db: openFile() })
    await store.migrate()
    return store
  }

  it('files nothing when the write it rides on finds the session deleted (GONE)', async () => {
    const store = await fileStore()
    const id = await store.create(record({ a: 1 }), MINUTE)
    await store.delete(id)
    expect(await store.apply(id, changes({ owner: owner('u1') }), MINUTE)).toBe(GONE)
    expect(await store.listByUser('u1')).toEqual([])
    const filed = store.db.prepare(`SELECT count(*) AS n FROM "${store.table}" WHERE user_id IS NOT NULL`).get() as { n: number }
    expect(filed.n).toBe(0)
  })

  it('leaves no user id, handle or info in the rows that delete and revokeByUser end', async () => {
    const store = await fileStore()
    const private_ = { userId: 'ada@example.com', handle: 'handle-secret', lastSeenAt: 1, info: { userAgent: 'AgentSecret/1.0' } }
    const deleted = await store.create(record({ a: 1 }, private_), MINUTE)
    await store.create(record({ a: 2 }, { ...private_, handle: 'handle-secret-2' }), MINUTE)
    await store.delete(deleted)
    expect(await store.revokeByUser('ada@example.com', {})).toBe(1)
    const rows = JSON.stringify(store.db.prepare(`SELECT * FROM "${store.table}"`).all())
    for (const secret of ['ada@example.com', 'handle-secret', 'AgentSecret']) expect(rows).not.toContain(secret)
  })

  it('loads a row whose owner columns are damaged as an unfiled session, and does not list it', async () => {
    const store = await fileStore()
    const id = await store.create(record({ a: 1 }, owner('u1')), MINUTE)
    store.db.prepare(`UPDATE "${store.table}" SET user_info = 'not json'`).run()
    expect(await store.load(id)).toEqual({ data: { a: 1 }, createdAt: expect.any(Number), absoluteExpiresAt: null })
    expect(await store.listByUser('u1')).toEqual([])
  })

  it('answers a user id or a selection of the wrong type with an encode StoreError that quotes no value', async () => {
    const store = await fileStore()
    await expect(store.listByUser(42 as never)).rejects.toMatchObject({ kind: 'encode', message: expect.stringMatching(/userId must be a string/) })
    const error = await store.revokeByUser('u1', { handles: 'secret-handle' as never }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).message).not.toContain('secret-handle')
    await expect(store.revocationList().set('u1', { before: Number.NaN }, 1000)).rejects.toMatchObject({ kind: 'encode' })
    await expect(store.revocationList().set('u1', { before: 1 }, -5)).rejects.toMatchObject({ kind: 'encode' })
  })

  it('ends a user\'s sessions for another connection to the file: its writes answer GONE', async () => {
    const path = join(dir, `pair${++fileCount}.db`)
    const a = new SqliteStore({ db: openFile(path) })
    await a.migrate()
    const b = new SqliteStore({ db: openFile(path) })
    const ids = await Promise.all(['h1', 'h2'].map((handle) => a.create(record({ a: 1 }, owner('u1', handle)), MINUTE)))
    expect(await b.load(ids[0]!)).not.toBeNull()
    expect(await a.revokeByUser('u1', { handles: ['h1', 'h2'] })).toBe(2)
    for (const id of ids) expect(await b.apply(id, changes({ set: { late: true } }), MINUTE)).toBe(GONE)
  })
})

describe('SqliteStore: revocation list', () => {
  it('ends a mark with its ttl by the store clock, deleteExpired removes it, and a mark for good stays', async () => {
    let now = Date.now()
    const store = new SqliteStore({ db: openFile(), clock: () => now })
    await store.migrate()
    const list = store.revocationList()
    await list.set('u1', { before: now, except: 'h1' }, MARKER_WINDOW_MS)
    await list.set('u2', { before: now }, null)
    expect(await list.get('u1')).toEqual({ before: now, except: 'h1' })
    now += MARKER_WINDOW_MS
    expect(await list.get('u1')).toBeNull()
    expect(await store.deleteExpired()).toBe(1)
    const left = store.db.prepare(`SELECT user_id FROM "${store.table}_revocations"`).all()
    expect(left).toEqual([{ user_id: 'u2' }])
    now += 365 * 86_400_000
    expect(await list.get('u2')).toEqual({ before: now - 365 * 86_400_000 - MARKER_WINDOW_MS })
  })
})
