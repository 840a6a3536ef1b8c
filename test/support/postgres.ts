import { randomBytes } from 'node:crypto'
import { userInfo } from 'node:os'
import pg from 'pg'

/**
 * Connection settings of the test database: PostgreSQL at 127.0.0.1:5432, database `test`, trust
 * auth, as user `postgres` (or PGUSER) or else the current user.
 *
 * @example
 * ```ts
 * const env = await findTestPostgres()
 * if (env) new pg.Pool(env.config)
 * ```
 */
export interface TestPostgres {
  config: pg.PoolConfig
}

const BASE: pg.PoolConfig = {
  host: process.env['PGHOST'] ?? '127.0.0.1',
  port: Number(process.env['PGPORT'] ?? 5432),
  database: process.env['PGDATABASE'] ?? 'test',
  connectionTimeoutMillis: 2000,
}

/**
 * Finds a usable test database, or returns `null` after a loud warning; under `CI=true` a missing
 * database is an error instead, so a CI run cannot pass by skipping.
 *
 * @example
 * ```ts
 * const env = await findTestPostgres()
 * describe.skipIf(!env)('PostgresStore', () => { … })
 * ```
 */
export async function findTestPostgres(): Promise<TestPostgres | null> {
  const users = [...new Set([process.env['PGUSER'] ?? 'postgres', userInfo().username])]
  const failures: string[] = []
  for (const user of users) {
    const client = new pg.Client({ ...BASE, user })
    try {
      await client.connect()
      await client.query('SELECT 1')
      return { config: { ...BASE, user } }
    } catch (error) {
      failures.push(`${user}: ${(error as Error).message}`)
    } finally {
      await client.end().catch(() => {})
    }
  }
  const message = `PostgreSQL is not reachable at ${BASE.host}:${BASE.port}/${BASE.database} (${failures.join('; ')})`
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI needs it`)
  console.warn(`\n!!!!! SKIPPING PostgreSQL tests: ${message} !!!!!\n`)
  return null
}

/**
 * A schema of its own for one test file's run (random name), created now and dropped with
 * everything in it by `drop()`; plus a pool and helpers to name fresh tables in it.
 *
 * @example
 * ```ts
 * const run = await openTestSchema(env)
 * const table = run.freshTable()
 * await run.drop()
 * ```
 */
export interface TestSchema {
  schema: string
  pool: pg.Pool
  /** Errors the pool reported for idle connections (a real application must listen for them too). */
  poolErrors: Error[]
  freshTable(): string
  /** A pool of its own on the same database (closed by `drop()`). */
  newPool(config?: pg.PoolConfig): pg.Pool
  drop(): Promise<void>
}

// The tests' pools wait this long for a connection (a new one forks a server process, slow on a
// busy machine; a queued one waits for a burst ahead of it). It only guards against a hang: the
// bounds under test are the stores' own timeoutMs. The reachability probe keeps its 2 s.
const POOL_CONNECT_TIMEOUT_MS = 10_000

/**
 * Creates a randomly named schema and a pool for it.
 *
 * @example
 * ```ts
 * const run = await openTestSchema(env)
 * ```
 */
export async function openTestSchema(env: TestPostgres): Promise<TestSchema> {
  const schema = `cloakroom_test_${randomBytes(6).toString('hex')}`
  const pools: pg.Pool[] = []
  const poolErrors: Error[] = []
  const newPool = (config: pg.PoolConfig = {}): pg.Pool => {
    const pool = new pg.Pool({ ...env.config, connectionTimeoutMillis: POOL_CONNECT_TIMEOUT_MS, ...config })
    pool.on('error', (err) => poolErrors.push(err))
    pools.push(pool)
    return pool
  }
  const pool = newPool()
  await pool.query(`CREATE SCHEMA "${schema}"`)
  let tables = 0
  return {
    schema,
    pool,
    poolErrors,
    newPool,
    freshTable: () => `t${++tables}_${randomBytes(3).toString('hex')}`,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await Promise.all(pools.map((p) => p.end().catch(() => {})))
    },
  }
}

/**
 * Waits until `count` backends whose query mentions `marker` are waiting on a lock; returns their
 * pids, oldest wait first.
 *
 * @example
 * ```ts
 * const [pid] = await waitForLockWaiters(pool, 't1_abc')
 * ```
 */
export async function waitForLockWaiters(pool: pg.Pool, marker: string, count = 1, timeoutMs = 5000): Promise<number[]> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const { rows } = await pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
       WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND position($1 in query) > 0
       ORDER BY query_start`,
      [marker],
    )
    if (rows.length >= count) return rows.map((row) => row.pid)
    if (Date.now() > until) throw new Error(`no backend waiting on a lock for ${marker}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
