import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GONE } from '../../src/core/store.js'
import type { ChangeSet, SessionOwner, SessionRecord } from '../../src/core/store.js'
import { randomId, storageKey } from '../../src/stores/shared/ids.js'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import { postgresStatements } from '../../src/stores/postgres/sql.js'
import { findTestPostgres, openTestSchema, waitForLockWaiters } from '../support/postgres.js'
import type { TestSchema } from '../support/postgres.js'

// The PostgreSQL store's side of "sessions filed by user" beyond the conformance suite: the schema
// upgrade and its locks, the index, revokes racing renews on the row lock, privacy of ended rows,
// and the revocation list's expiry by the database clock.

const env = await findTestPostgres()
const MINUTE = 60_000
let run: TestSchema

const owner = (userId: string, handle = `h-${userId}`): SessionOwner => ({ userId, handle, lastSeenAt: 1_700_000_000_000, info: { userAgent: 'Firefox' } })
const record = (data: SessionRecord['data'], filed?: SessionOwner): SessionRecord => ({
  data,
  createdAt: Date.now(),
  absoluteExpiresAt: null,
  ...(filed === undefined ? {} : { owner: filed }),
})
const changes = (partial: Partial<ChangeSet>): ChangeSet => ({ clear: false, set: {}, remove: [], ...partial })

async function makeStore(options: { table?: string; timeoutMs?: number } = {}): Promise<{ store: PostgresStore; table: string; qualified: string }> {
  const table = options.table ?? run.freshTable()
  const store = new PostgresStore({ pool: run.pool, schema: run.schema, table, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) })
  await store.migrate()
  return { store, table, qualified: `"${run.schema}"."${table}"` }
}

describe.skipIf(!env)('PostgresStore: sessions filed by user', () => {
  beforeAll(async () => {
    run = await openTestSchema(env!)
  })
  afterAll(async () => {
    await run?.drop()
  })

  describe('migrate upgrades a table of the previous release', () => {
    it('keeps its live session, which then loads unfiled and can be filed and listed', async () => {
      const table = run.freshTable()
      const qualified = `"${run.schema}"."${table}"`
      // The schema `migrate()` created before sessions had owners, holding one live session as
      // that release wrote it.
      await run.pool.query(`CREATE TABLE ${qualified} (
        key text PRIMARY KEY, data jsonb NOT NULL, created_at bigint NOT NULL,
        absolute_expires_at timestamptz, expires_at timestamptz NOT NULL, forward_to text)`)
      await run.pool.query(`CREATE INDEX "${table}_expires_at_idx" ON ${qualified} (expires_at)`)
      const id = randomId()
      const createdAt = Date.now() - 5000
      await run.pool.query(
        `INSERT INTO ${qualified} (key, data, created_at, absolute_expires_at, expires_at) VALUES ($1, $2::jsonb, $3, NULL, now() + interval '1 minute')`,
        [storageKey(id), JSON.stringify({ cart: ['tea'] }), createdAt],
      )

      const store = new PostgresStore({ pool: run.pool, schema: run.schema, table })
      await store.migrate()
      await store.migrate() // idempotent on the upgraded table

      expect(await store.load(id)).toEqual({ data: { cart: ['tea'] }, createdAt, absoluteExpiresAt: null })
      expect(await store.apply(id, changes({ set: { userId: 'u1' }, owner: owner('u1') }), MINUTE)).toBe(id)
      expect((await store.load(id))?.owner).toEqual(owner('u1'))
      expect((await store.listByUser('u1')).map((entry) => entry.handle)).toEqual(['h-u1'])
      const { rows } = await run.pool.query(
        `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [qualified],
      )
      expect(rows.map((row) => row.attname)).toEqual(['key', 'data', 'created_at', 'absolute_expires_at', 'expires_at', 'forward_to', 'user_id', 'user_handle', 'last_seen_at', 'user_info'])
      await store.revocationList().set('u1', { before: 1 }, null)
      expect(await store.revocationList().get('u1')).toEqual({ before: 1 })
    })

    it('on an up-to-date table, does not queue behind a reader (no ALTER, so no exclusive lock)', async () => {
      const { store, qualified } = await makeStore()
      const reader = await run.pool.connect()
      try {
        await reader.query('BEGIN')
        await reader.query(`SELECT count(*) FROM ${qualified}`) // holds ACCESS SHARE until COMMIT
        await expect(store.migrate({ timeoutMs: 3000 })).resolves.toBeUndefined()
      } finally {
        await reader.query('COMMIT')
        reader.release()
      }
    })

    it('lists a user\'s sessions through the partial user_id index', async () => {
      const { table } = await makeStore()
      const sql = postgresStatements({ table, schema: run.schema })
      const client = await run.pool.connect()
      try {
        // On a tiny table the planner rightly prefers a scan; forbidding it shows the index applies.
        await client.query('SET enable_seqscan = off')
        const { rows } = await client.query({ text: `EXPLAIN ${sql.listByUser}`, values: ['u1'] })
        expect(rows.map((row) => row['QUERY PLAN']).join('\n')).toContain(`${table}_user_id_idx`)
      } finally {
        await client.query('RESET enable_seqscan')
        client.release()
      }
    })
  })

  describe('revokes racing other writes on the row lock', () => {
    /**
     * Locks the row of `id` in a transaction of its own, starts `calls` one by one (each queued on
     * the lock before the next starts), commits, and returns what each call resolved to.
     */
    async function queuedBehindRowLock(qualified: string, table: string, id: string, calls: (() => Promise<unknown>)[]): Promise<unknown[]> {
      const locker = await run.pool.connect()
      try {
        await locker.query('BEGIN')
        await locker.query(`SELECT 1 FROM ${qualified} WHERE key = $1 FOR UPDATE`, [storageKey(id)])
        const pending: Promise<unknown>[] = []
        for (const call of calls) {
          pending.push(call())
          await waitForLockWaiters(run.pool, table, pending.length)
        }
        await locker.query('COMMIT')
        return await Promise.all(pending)
      } finally {
        locker.release()
      }
    }

    it('a revoke queued behind a renew ends the renewed session too', async () => {
      const { store, table, qualified } = await makeStore()
      const id = await store.create(record({ a: 1 }, owner('u1')), MINUTE)
      const [renewed, ended] = await queuedBehindRowLock(qualified, table, id, [
        () => store.renew(id, changes({ set: { b: 2 } }), MINUTE),
        () => store.revokeByUser('u1', {}),
      ])
      expect(typeof renewed).toBe('string')
      expect(ended).toBe(1)
      expect(await store.load(renewed as string)).toBeNull()
      expect(await store.apply(renewed as string, changes({ set: { late: true } }), MINUTE)).toBe(GONE)
      expect(await store.listByUser('u1')).toEqual([])
    })

    it('a revoke queued behind a renew that files the session under another user leaves that user\'s session alone', async () => {
      const { store, table, qualified } = await makeStore()
      const id = await store.create(record({ userId: 'u1' }, owner('u1')), MINUTE)
      const [renewed, ended] = await queuedBehindRowLock(qualified, table, id, [
        () => store.renew(id, changes({ set: { userId: 'u2' }, owner: owner('u2') }), MINUTE),
        () => store.revokeByUser('u1', {}),
      ])
      expect(ended).toBe(0)
      expect((await store.load(renewed as string))?.owner).toEqual(owner('u2'))
    })

    it('an apply queued behind a revoke answers GONE and files nothing', async () => {
      const { store, table, qualified } = await makeStore()
      const id = await store.create(record({ a: 1 }, owner('u1')), MINUTE)
      const [ended, applied] = await queuedBehindRowLock(qualified, table, id, [
        () => store.revokeByUser('u1', { handles: ['h-u1'] }),
        () => store.apply(id, changes({ set: { b: 2 }, owner: { ...owner('u1'), lastSeenAt: Date.now() } }), MINUTE),
      ])
      expect(ended).toBe(1)
      expect(applied).toBe(GONE)
      const { rows } = await run.pool.query(`SELECT count(*)::int AS n FROM ${qualified} WHERE user_id IS NOT NULL`)
      expect(rows[0].n).toBe(0)
    })
  })

  it('leaves no user id, handle or info in the rows that delete and revokeByUser end', async () => {
    const { store, qualified } = await makeStore()
    const private_ = { userId: 'ada@example.com', handle: 'handle-secret', lastSeenAt: 1, info: { userAgent: 'AgentSecret/1.0' } }
    const deleted = await store.create(record({ a: 1 }, private_), MINUTE)
    await store.create(record({ a: 2 }, { ...private_, handle: 'handle-secret-2' }), MINUTE)
    await store.delete(deleted)
    expect(await store.revokeByUser('ada@example.com', {})).toBe(1)
    const { rows } = await run.pool.query(`SELECT row_to_json(t)::text AS row FROM ${qualified} t`)
    const dump = rows.map((row) => row.row).join('\n')
    for (const secret of ['ada@example.com', 'handle-secret', 'AgentSecret']) expect(dump).not.toContain(secret)
  })

  it('lists and revokes 1,000 sessions of one user within the default timeoutMs', async () => {
    const { store, qualified } = await makeStore()
    await run.pool.query(
      `INSERT INTO ${qualified} (key, data, created_at, expires_at, user_id, user_handle, last_seen_at, user_info)
       SELECT 'k' || n, '{}'::jsonb, n, now() + interval '1 hour', 'u-many', 'h-' || n, n, '{}'::jsonb FROM generate_series(1, 1000) AS n`,
    )
    // 2000 ms is the default timeoutMs: a call past it would reject with a timeout StoreError.
    const listed = await store.listByUser('u-many')
    expect(listed).toHaveLength(1000)
    expect(listed[0]?.handle).toBe('h-1000')
    expect(await store.revokeByUser('u-many', { except: 'h-1' })).toBe(999)
    expect((await store.listByUser('u-many')).map((entry) => entry.handle)).toEqual(['h-1'])
  })

  it('answers a user id or a selection of the wrong type with an encode StoreError', async () => {
    const { store } = await makeStore()
    await expect(store.listByUser(42 as never)).rejects.toMatchObject({ kind: 'encode', message: expect.stringMatching(/userId must be a string/) })
    await expect(store.revokeByUser('u1', { except: 7 as never })).rejects.toMatchObject({ kind: 'encode' })
    await expect(store.revocationList().set('u1', { before: 1.5 }, null)).rejects.toMatchObject({ kind: 'encode' })
  })

  it('ends a revocation mark with its ttl by the database clock; deleteExpired removes it, a mark for good stays', async () => {
    const { store, table } = await makeStore()
    const list = store.revocationList()
    await list.set('u1', { before: 10, except: 'h1' }, MINUTE)
    await list.set('u2', { before: 20 }, null)
    expect(await list.get('u1')).toEqual({ before: 10, except: 'h1' })
    const revocations = `"${run.schema}"."${table}_revocations"`
    const { rows: kept } = await run.pool.query(`SELECT user_id, expires_at IS NULL AS forever FROM ${revocations} ORDER BY user_id`)
    expect(kept).toEqual([{ user_id: 'u1', forever: false }, { user_id: 'u2', forever: true }])
    await run.pool.query(`UPDATE ${revocations} SET expires_at = now() - interval '1 millisecond' WHERE expires_at IS NOT NULL`)
    expect(await list.get('u1')).toBeNull()
    expect(await store.deleteExpired()).toBe(1)
    expect(await list.get('u2')).toEqual({ before: 20 })
  })
})
