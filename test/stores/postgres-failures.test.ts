import { once } from 'node:events'
import { createServer } from 'node:net'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { StoreError } from '../../src/core/errors.js'
import type { SessionRecord } from '../../src/core/store.js'
import { storageKey } from '../../src/stores/shared/ids.js'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import { findTestPostgres, openTestSchema, waitForLockWaiters } from '../support/postgres.js'
import type { TestSchema } from '../support/postgres.js'
import { hangGuard, waitFor } from '../support/wait.js'

const env = await findTestPostgres()
const MINUTE = 60_000
const record = (data: SessionRecord['data'] = {}): SessionRecord => ({ data, createdAt: Date.now(), absoluteExpiresAt: null })

// Every failure here must surface as a rejected call, never as a stray rejection or exception.
const strays: unknown[] = []
const onStray = (error: unknown): void => {
  strays.push(error)
}
beforeEach(() => {
  strays.length = 0
  process.on('unhandledRejection', onStray)
  process.on('uncaughtException', onStray)
})
afterEach(() => {
  process.off('unhandledRejection', onStray)
  process.off('uncaughtException', onStray)
})

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('PostgresStore without a server', () => {
  // "unavailable" rather than "timeout" is the proof that it did not wait out timeoutMs: the deadline
  // rejects with a timeout, so only a failure that came first reads as unavailable.
  it('rejects with StoreError("unavailable"), not a timeout, when nothing listens on the port', async () => {
    const pool = new pg.Pool({ host: '127.0.0.1', port: await closedPort(), user: 'nobody', database: 'none' })
    pool.on('error', () => {})
    const store = new PostgresStore({ pool, timeoutMs: 2000 })
    const error = await store.load('x'.repeat(43)).catch((e: unknown) => e)
    await pool.end()
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).kind).toBe('unavailable')
    expect(strays).toEqual([])
  })
})

describe.skipIf(!env)('PostgresStore when PostgreSQL misbehaves', () => {
  let run: TestSchema
  beforeAll(async () => {
    run = await openTestSchema(env!)
  })
  afterAll(async () => {
    await run?.drop()
  })

  /**
   * A store whose `timeoutMs` is the bound under test, and a patient one on the same pool and table
   * for every other call: a healthy call on a loaded machine must never trip its bound.
   */
  async function makeStore(pool: pg.Pool, timeoutMs: number): Promise<{ store: PostgresStore; patient: PostgresStore; table: string }> {
    const table = run.freshTable()
    const store = new PostgresStore({ pool, schema: run.schema, table, timeoutMs })
    await store.migrate()
    return { store, patient: new PostgresStore({ pool, schema: run.schema, table, timeoutMs: 10_000 }), table }
  }

  async function lockRow(table: string, id: string): Promise<pg.PoolClient> {
    const locker = await run.pool.connect()
    await locker.query('BEGIN')
    await locker.query(`SELECT 1 FROM "${run.schema}"."${table}" WHERE key = $1 FOR UPDATE`, [storageKey(id)])
    return locker
  }

  it('rejects with StoreError when its connection is terminated mid-query, and the same pool works next', async () => {
    const pool = run.newPool({ max: 2 })
    const { store, table } = await makeStore(pool, 10_000)
    const id = await store.create(record({ a: 1 }), MINUTE)
    const locker = await lockRow(table, id)
    // The terminated connection is closed and dropped by the pool: only then has every event it could raise arrived.
    const removed = once(pool, 'remove')
    try {
      const applying = store.apply(id, { clear: false, set: { b: 2 }, remove: [] }, MINUTE).catch((e: unknown) => e)
      const [pid] = await waitForLockWaiters(run.pool, table)
      await run.pool.query('SELECT pg_terminate_backend($1)', [pid])
      const error = await applying
      expect(error).toBeInstanceOf(StoreError)
      expect((error as StoreError).kind).toBe('unavailable')
    } finally {
      await locker.query('ROLLBACK')
      locker.release()
    }
    expect((await store.load(id))?.data).toEqual({ a: 1 })
    expect(await store.apply(id, { clear: false, set: { c: 3 }, remove: [] }, MINUTE)).toBe(id)
    await hangGuard(removed, 'the pool dropping the terminated connection')
    await new Promise((resolve) => setImmediate(resolve)) // a stray rejection is reported after the microtasks drain
    expect(strays).toEqual([])
  })

  it('rejects an apply blocked by a row lock with StoreError("timeout") within the bound, and cancels it on the server', async () => {
    const { store, patient, table } = await makeStore(run.newPool(), 300)
    const id = await patient.create(record({ a: 1 }), MINUTE)
    const locker = await lockRow(table, id)
    let elapsed: number
    let error: unknown
    try {
      const started = performance.now()
      error = await hangGuard(store.apply(id, { clear: false, set: { late: true }, remove: [] }, MINUTE).catch((e: unknown) => e), 'the blocked apply')
      elapsed = performance.now() - started
      // The abandoned UPDATE must stop waiting on the server, or it would land once the lock goes.
      await waitFor(
        async () =>
          (await run.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`, [table]))
            .rowCount === 0,
        'the timed-out statement leaving the lock queue on the server',
      )
    } finally {
      await locker.query('COMMIT')
      locker.release()
    }
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).kind).toBe('timeout')
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect((await patient.load(id))?.data).toEqual({ a: 1 })
    expect(await patient.apply(id, { clear: false, set: { b: 2 }, remove: [] }, MINUTE)).toBe(id)
    expect((await patient.load(id))?.data).toEqual({ a: 1, b: 2 })
    expect(strays).toEqual([])
  })

  it('a delete that times out midway along a renew chain ends nothing, so a retry still ends the renewed session', async () => {
    const { store, patient, table } = await makeStore(run.newPool(), 300)
    const id = await patient.create(record({ user: 'ferris' }), MINUTE)
    const renewed = (await patient.renew(id, { clear: false, set: {}, remove: [] }, MINUTE)) as string
    // The successor's row is locked: the delete ends the old id, then waits on the successor and times out.
    const locker = await lockRow(table, renewed)
    let error: unknown
    try {
      error = await store.delete(id).catch((e: unknown) => e)
    } finally {
      await locker.query('COMMIT')
      locker.release()
    }
    expect(error).toMatchObject({ kind: 'timeout' })
    // Had the first hop committed on its own, the old id would now be a purge marker pointing nowhere.
    const { rows } = await run.pool.query(`SELECT forward_to FROM "${run.schema}"."${table}" WHERE key = $1`, [storageKey(id)])
    expect(rows).toEqual([{ forward_to: storageKey(renewed) }])
    await patient.delete(id)
    expect(await patient.load(renewed)).toBeNull()
    expect(strays).toEqual([])
  })

  it('rejects with StoreError("timeout") when no pooled connection frees up within the bound', async () => {
    const pool = run.newPool({ max: 1 })
    const { store, patient } = await makeStore(pool, 200)
    const held = await pool.connect()
    let error: unknown
    try {
      error = await hangGuard(store.load('x'.repeat(43)).catch((e: unknown) => e), 'the load waiting for a connection')
    } finally {
      held.release()
    }
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).kind).toBe('timeout')
    // The connection the timed-out call was still waiting for goes back to the pool.
    expect(await patient.load('x'.repeat(43))).toBeNull()
    expect(pool.idleCount + pool.waitingCount).toBeLessThanOrEqual(1)
    expect(strays).toEqual([])
  })
})
