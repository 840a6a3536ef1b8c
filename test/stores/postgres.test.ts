import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConfigError, StoreError } from '../../src/core/errors.js'
import { EXPIRED, GONE, RENEWED } from '../../src/core/store.js'
import type { ChangeSet, SessionRecord, SessionStore } from '../../src/core/store.js'
import { storageKey } from '../../src/stores/shared/ids.js'
import type * as Ids from '../../src/stores/shared/ids.js'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import type { PgPool } from '../../src/stores/postgres/index.js'
import { defineRevocationListConformance } from '../../src/testing/revocation-conformance.js'
import { defineStoreConformance } from '../../src/testing/store-conformance.js'
import { findTestPostgres, openTestSchema, waitForLockWaiters } from '../support/postgres.js'
import type { TestSchema } from '../support/postgres.js'

// Lets one test force id collisions; every other test gets the real CSPRNG ids.
const forcedIds = vi.hoisted(() => [] as string[])
vi.mock('../../src/stores/shared/ids.js', async (importOriginal) => {
  const real = await importOriginal<typeof Ids>()
  return { ...real, randomId: (bytes?: number) => forcedIds.shift() ?? real.randomId(bytes) }
})

const env = await findTestPostgres()
const MINUTE = 60_000
const none: ChangeSet = { clear: false, set: {}, remove: [] }
const set = (values: ChangeSet['set']): ChangeSet => ({ ...none, set: values })
const record = (data: SessionRecord['data'] = {}, absoluteExpiresAt: number | null = null): SessionRecord => ({
  data,
  createdAt: Date.now(),
  absoluteExpiresAt,
})

let run: TestSchema
const tables = new WeakMap<SessionStore, string>()

// A generous bound: a healthy call on a loaded machine must never trip it (the bound itself is
// tested in postgres-failures.test.ts).
async function makeStore(options: { table?: string; timeoutMs?: number } = {}): Promise<PostgresStore> {
  const table = options.table ?? run.freshTable()
  const store = new PostgresStore({ pool: run.pool, schema: run.schema, table, timeoutMs: options.timeoutMs ?? 10_000 })
  await store.migrate()
  tables.set(store, table)
  return store
}

function qualified(store: SessionStore): string {
  const table = tables.get(store)
  if (table === undefined) throw new Error('store not made by makeStore')
  return `"${run.schema}"."${table}"`
}

/** Ends the window of every marker the store holds, by the database clock, as if 60 s had passed. */
async function expireMarkers(store: SessionStore): Promise<void> {
  await run.pool.query(`UPDATE ${qualified(store)} SET expires_at = now() - interval '1 millisecond' WHERE forward_to IS NOT NULL`)
}

/** What each row holds, by storage key: a session (its data), or a marker (`forward_to`). */
async function rowsOf(store: SessionStore): Promise<{ key: string; data: unknown; forward_to: string | null }[]> {
  const { rows } = await run.pool.query(`SELECT key, data, forward_to FROM ${qualified(store)} ORDER BY key`)
  return rows
}

/** A purge marker row of `id`, as `rowsOf` shows it: no data, `forward_to` empty. */
const purged = (id: string) => ({ key: storageKey(id), data: {}, forward_to: '' })

async function rowCount(store: SessionStore): Promise<number> {
  const { rows } = await run.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified(store)}`)
  return rows[0]!.n
}

describe('PostgresStore construction', () => {
  it('rejects a table name that is not a plain identifier, naming the fix', () => {
    const pool = { connect: () => Promise.reject(new Error('unused')) } as unknown as PgPool
    expect(() => new PostgresStore({ pool, table: 'sessions; DROP TABLE x' })).toThrow(ConfigError)
    expect(() => new PostgresStore({ pool, table: 'a"b' })).toThrow(/letters, digits and underscores/)
    expect(() => new PostgresStore({ pool, table: 'x'.repeat(49) })).toThrow(/at most 48/)
  })

  it('rejects a schema name that is not a plain identifier', () => {
    const pool = { connect: () => Promise.reject(new Error('unused')) } as unknown as PgPool
    expect(() => new PostgresStore({ pool, schema: 'public.x' })).toThrow(ConfigError)
  })

  it('rejects a missing pool and a non-positive timeout', () => {
    const pool = { connect: () => Promise.reject(new Error('unused')) } as unknown as PgPool
    expect(() => new PostgresStore({} as never)).toThrow(/needs `pool`/)
    expect(() => new PostgresStore({ pool, timeoutMs: 0 })).toThrow(/timeoutMs/)
  })
})

describe.skipIf(!env)('PostgresStore against PostgreSQL', () => {
  beforeAll(async () => {
    run = await openTestSchema(env!)
  })
  afterAll(async () => {
    await run?.drop()
  })

  defineStoreConformance({
    name: 'PostgresStore',
    test: { describe, it },
    makeStore: () => makeStore(),
    async dumpBackend(store) {
      const { rows } = await run.pool.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${qualified(store)} t`)
      return rows.map((r) => r.row).join('\n')
    },
    expireMarkers,
  })

  defineRevocationListConformance({
    name: 'PostgresStore',
    test: { describe, it },
    makeList: async () => (await makeStore()).revocationList(),
  })

  describe('migrate', () => {
    it('succeeds when 8 instances migrate the same table at once', async () => {
      const table = run.freshTable()
      const stores = Array.from({ length: 8 }, () => new PostgresStore({ pool: run.pool, schema: run.schema, table }))
      const results = await Promise.allSettled(stores.map((s) => s.migrate()))
      expect(results.filter((r) => r.status === 'rejected')).toEqual([])
      const { rows } = await run.pool.query(
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname`,
        [run.schema, table],
      )
      expect(rows.map((r) => r.indexname)).toEqual([`${table}_expires_at_idx`, `${table}_pkey`, `${table}_user_id_idx`])
    })

    it('runs exactly the DDL shipped in schema.sql', async () => {
      // A pool whose search_path is the test schema, so the default table name lands there.
      const pool = run.newPool({ options: `-c search_path=${run.schema}` })
      const sent: string[] = []
      const recording: PgPool = {
        async connect() {
          const client = await pool.connect()
          return {
            query: (q) => {
              sent.push(q.text)
              return client.query(q)
            },
            release: (err) => client.release(err),
          }
        },
      }
      await new PostgresStore({ pool: recording }).migrate()
      const normalize = (sql: string): string => sql.replace(/\s+/g, ' ').trim()
      const shipped = readFileSync(new URL('../../src/stores/postgres/schema.sql', import.meta.url), 'utf8')
        .split('\n')
        .filter((line) => !line.startsWith('--'))
        .join('\n')
        .split(';')
        .map(normalize)
        .filter((statement) => statement !== '')
      const ddl = sent.map(normalize).filter((statement) => /^(CREATE|ALTER) /.test(statement))
      expect(ddl).toEqual(shipped)
      const { rows } = await pool.query(
        `SELECT to_regclass('"${run.schema}"."cloakroom_sessions"') IS NOT NULL AND to_regclass('"${run.schema}"."cloakroom_sessions_revocations"') IS NOT NULL AS present`,
      )
      expect(rows[0].present).toBe(true)
    })
  })

  describe('prepared statements', () => {
    it('serves two tables through one connection without mixing up their prepared statements', async () => {
      const pool = run.newPool({ max: 1 })
      const [a, b] = [run.freshTable(), run.freshTable()].map((table) => new PostgresStore({ pool, schema: run.schema, table }))
      await a!.migrate()
      await b!.migrate()
      const idA = await a!.create(record({ from: 'a' }), MINUTE)
      const idB = await b!.create(record({ from: 'b' }), MINUTE)
      expect((await a!.load(idA))?.data).toEqual({ from: 'a' })
      expect((await b!.load(idB))?.data).toEqual({ from: 'b' })
      expect(await a!.load(idB)).toBeNull()
    })

    it('works the same with preparedStatements off', async () => {
      const table = run.freshTable()
      const store = new PostgresStore({ pool: run.pool, schema: run.schema, table, preparedStatements: false })
      await store.migrate()
      const id = await store.create(record({ a: 1 }), MINUTE)
      expect(await store.apply(id, { clear: false, set: { b: 2 }, remove: ['a'] }, MINUTE)).toBe(id)
      const renewed = (await store.renew(id, none, MINUTE)) as string
      expect((await store.load(renewed))?.data).toEqual({ b: 2 })
      await store.delete(id)
      expect(await store.load(renewed)).toBeNull()
    })
  })

  describe('records', () => {
    it('keeps absoluteExpiresAt to the millisecond', async () => {
      const store = await makeStore()
      const absoluteExpiresAt = Date.now() + 86_400_000 + 123
      const id = await store.create({ data: {}, createdAt: 1_700_000_000_001, absoluteExpiresAt }, MINUTE)
      expect(await store.load(id)).toEqual({ data: {}, createdAt: 1_700_000_000_001, absoluteExpiresAt })
    })

    it('retries create with a new id when the first one is taken, never overwriting', async () => {
      const store = await makeStore()
      const first = await store.create(record({ owner: 'first' }), MINUTE)
      forcedIds.push(first)
      const second = await store.create(record({ owner: 'second' }), MINUTE)
      expect(second).not.toBe(first)
      expect((await store.load(first))?.data).toEqual({ owner: 'first' })
      expect((await store.load(second))?.data).toEqual({ owner: 'second' })
    })

    it('retries renew with a new id when the first one is taken', async () => {
      const store = await makeStore()
      const taken = await store.create(record({ owner: 'taken' }), MINUTE)
      const id = await store.create(record({ owner: 'renewing' }), MINUTE)
      forcedIds.push(taken)
      const renewed = await store.renew(id, none, MINUTE)
      expect(renewed).not.toBe(taken)
      expect((await store.load(taken))?.data).toEqual({ owner: 'taken' })
      expect((await store.load(renewed as string))?.data).toEqual({ owner: 'renewing' })
    })

    it('stores the renew forwarding marker under storage keys only', async () => {
      const store = await makeStore()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const renewed = (await store.renew(id, none, MINUTE)) as string
      const { rows } = await run.pool.query(`SELECT key, forward_to FROM ${qualified(store)} ORDER BY forward_to NULLS LAST`)
      expect(rows).toEqual([
        { key: storageKey(id), forward_to: storageKey(renewed) },
        { key: storageKey(renewed), forward_to: null },
      ])
      expect(await store.load(id)).toBeNull()
    })

    it('treats a row whose data is not a JSON object as absent, without throwing', async () => {
      const store = await makeStore()
      const id = await store.create(record({ a: 1 }), MINUTE)
      await run.pool.query(`UPDATE ${qualified(store)} SET data = '[1,2]'::jsonb`)
      expect(await store.load(id)).toBeNull()
      // No record and no marker: EXPIRED, so the manager starts a fresh session.
      expect(await store.apply(id, set({ b: 2 }), MINUTE)).toBe(EXPIRED)
      expect(await store.touch(id, MINUTE)).toBe(EXPIRED)
      expect(await store.renew(id, none, MINUTE)).toBe(EXPIRED)
    })

    it('rejects a value jsonb refuses with StoreError("encode"), quoting neither id nor value', async () => {
      const store = await makeStore()
      const id = await store.create(record(), MINUTE)
      const error = await store.apply(id, set({ bad: 'x\u0000secret' }), MINUTE).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect((error as StoreError).kind).toBe('encode')
      expect((error as StoreError).message).not.toMatch(/secret/)
      expect((error as StoreError).message).not.toContain(id)
    })
  })

  describe('expiry by the database clock', () => {
    it('does not return a record whose expiry passed by the database clock, whatever the app clock says', async () => {
      const store = await makeStore()
      const id = await store.create(record({ a: 1 }), MINUTE)
      await run.pool.query(`UPDATE ${qualified(store)} SET expires_at = now() - interval '1 millisecond'`)
      vi.useFakeTimers({ toFake: ['Date'] })
      try {
        vi.setSystemTime(Date.now() - 86_400_000)
        expect(await store.load(id)).toBeNull()
        expect(await store.touch(id, MINUTE)).toBe(EXPIRED)
      } finally {
        vi.useRealTimers()
      }
    })

    it('keeps a record the database clock says is live, with the app clock a day ahead', async () => {
      const store = await makeStore()
      const id = await store.create(record({ a: 1 }), MINUTE)
      vi.useFakeTimers({ toFake: ['Date'] })
      try {
        vi.setSystemTime(Date.now() + 86_400_000)
        expect((await store.load(id))?.data).toEqual({ a: 1 })
        expect(await store.apply(id, set({ b: 2 }), MINUTE)).toBe(id)
      } finally {
        vi.useRealTimers()
      }
    })

    it('sets expires_at from now() + ttl on the database side', async () => {
      const store = await makeStore()
      await store.create(record(), 90_000)
      const { rows } = await run.pool.query<{ ms: number }>(
        `SELECT (extract(epoch FROM expires_at - now()) * 1000)::float8 AS ms FROM ${qualified(store)}`,
      )
      expect(rows[0]!.ms).toBeGreaterThan(85_000)
      expect(rows[0]!.ms).toBeLessThanOrEqual(90_000)
    })
  })

  describe('marker windows, by the database clock', () => {
    it('a delete of the old id after the forwarding window leaves the renewed session alone, before deleteExpired runs', async () => {
      const store = await makeStore()
      const id = await store.create(record({ user: 'victim' }), 30 * MINUTE)
      const renewed = (await store.renew(id, set({ role: 'admin' }), 30 * MINUTE)) as string
      await expireMarkers(store)
      // A pre-login cookie replayed long after the login must not log the victim out.
      await store.delete(id)
      expect((await store.load(renewed))?.data).toEqual({ user: 'victim', role: 'admin' })
    })
  })

  describe('deleteExpired', () => {
    it('from 4 instances at once deletes all 10,000 expired rows, leaves live ones, and never deadlocks', async () => {
      const table = run.freshTable()
      const stores = await Promise.all(Array.from({ length: 4 }, () => makeStore({ table })))
      const live = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[0]!.create(record({ i }), MINUTE)))
      await run.pool.query(
        `INSERT INTO ${qualified(stores[0]!)} (key, data, created_at, expires_at)
         SELECT 'expired-' || n, '{}'::jsonb, 0, now() - interval '1 second' FROM generate_series(1, 10000) AS n`,
      )
      const results = await Promise.allSettled(stores.map((store) => store.deleteExpired({ batchSize: 250 })))
      expect(results.filter((r) => r.status === 'rejected')).toEqual([])
      const deleted = results.map((r) => (r as PromiseFulfilledResult<number>).value)
      expect(deleted.reduce((a, b) => a + b, 0)).toBe(10_000)
      expect(await rowCount(stores[0]!)).toBe(50)
      const loaded = await Promise.all(live.map((id) => stores[1]!.load(id)))
      expect(loaded.map((r) => r?.data['i'])).toEqual(live.map((_, i) => i))
    })

    it('also removes forwarding markers once their 60 s are up', async () => {
      const store = await makeStore()
      const id = await store.create(record(), MINUTE)
      await store.renew(id, none, MINUTE)
      await run.pool.query(`UPDATE ${qualified(store)} SET expires_at = now() - interval '1 second' WHERE forward_to IS NOT NULL`)
      expect(await store.deleteExpired()).toBe(1)
      expect(await rowCount(store)).toBe(1)
    })
  })

  describe('races at the store level', () => {
    it('an apply after another instance deleted the record returns GONE and recreates nothing', async () => {
      const store = await makeStore()
      const other = new PostgresStore({ pool: run.newPool(), schema: run.schema, table: tables.get(store)! })
      const id = await store.create(record({ a: 1 }), MINUTE)
      expect(await store.load(id)).not.toBeNull()
      await other.delete(id)
      expect(await store.apply(id, set({ b: 2 }), MINUTE)).toBe(GONE)
      expect(await store.touch(id, MINUTE)).toBe(GONE)
      expect(await store.renew(id, none, MINUTE)).toBe(GONE)
      expect(await rowsOf(store)).toEqual([purged(id)])
    })

    it('lands every one of 20 concurrent applies that change different keys', async () => {
      const store = await makeStore()
      const id = await store.create(record({ base: true }), MINUTE)
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
      const results = await Promise.all(keys.map((k, i) => store.apply(id, set({ [k]: i }), MINUTE)))
      expect(results.every((r) => r === id)).toBe(true)
      expect((await store.load(id))?.data).toEqual(Object.fromEntries([['base', true], ...keys.map((k, i) => [k, i])]))
    })

    it('delete of the old id right after a renew also ends the renewed session', async () => {
      const store = await makeStore()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const renewed = (await store.renew(id, none, MINUTE)) as string
      await store.delete(id)
      expect(await store.load(renewed)).toBeNull()
      expect(await rowsOf(store)).toEqual([purged(id), purged(renewed)].sort((a, b) => (a.key < b.key ? -1 : 1)))
    })

    /**
     * Locks the row of `id` in a transaction of its own, starts `calls` one by one (each queued on
     * the lock before the next starts), commits, and returns what each call resolved to.
     */
    async function queuedBehindRowLock(store: PostgresStore, id: string, calls: (() => Promise<unknown>)[]): Promise<unknown[]> {
      const table = tables.get(store)!
      const locker = await run.pool.connect()
      try {
        await locker.query('BEGIN')
        await locker.query(`SELECT 1 FROM ${qualified(store)} WHERE key = $1 FOR UPDATE`, [storageKey(id)])
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

    it('a purge queued behind a renew on the row lock still ends the renewed session', async () => {
      const store = await makeStore()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const [renewed] = await queuedBehindRowLock(store, id, [() => store.renew(id, set({ b: 2 }), MINUTE), () => store.delete(id)])
      expect(typeof renewed).toBe('string')
      expect(await store.load(renewed as string)).toBeNull()
      expect(await rowsOf(store)).toEqual([purged(id), purged(renewed as string)].sort((a, b) => (a.key < b.key ? -1 : 1)))
    })

    it('a renew, an apply and a touch queued behind a purge answer GONE and create nothing', async () => {
      const store = await makeStore()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const [, renewing, applying, touching] = await queuedBehindRowLock(store, id, [
        () => store.delete(id),
        () => store.renew(id, set({ b: 2 }), MINUTE),
        () => store.apply(id, set({ c: 3 }), MINUTE),
        () => store.touch(id, MINUTE),
      ])
      expect([renewing, applying, touching]).toEqual([GONE, GONE, GONE])
      expect(await rowsOf(store)).toEqual([purged(id)])
    })

    it('an apply queued behind a renew answers RENEWED, and a renew queued behind an apply carries its change', async () => {
      const store = await makeStore()
      const id = await store.create(record({ a: 1 }), MINUTE)
      const [applied, renewed, late] = await queuedBehindRowLock(store, id, [
        () => store.apply(id, set({ first: 1 }), MINUTE),
        () => store.renew(id, set({ second: 2 }), MINUTE),
        () => store.apply(id, set({ third: 3 }), MINUTE),
      ])
      expect(applied).toBe(id)
      expect(late).toBe(RENEWED)
      expect((await store.load(renewed as string))?.data).toEqual({ a: 1, first: 1, second: 2 })
    })
  })
})
