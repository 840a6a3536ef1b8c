/**
 * Opens the store a cloakroom server runs on, picked by `BENCH_STORE`: `cookie`, `memory`, `redis`,
 * `postgres` or `sqlite`. Each is set up as its docs recommend for production, on the services the
 * harness was told about (`REDIS_URL`, `PG*`, a fresh SQLite file under `bench/.work/`).
 *
 * @module
 */
import { mkdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { SessionOptions, SessionStore } from '../../dist/index.js'
import { CookieStore, MemoryStore } from '../../dist/index.js'
import { SECRET } from './common.js'

/**
 * The store named by `BENCH_STORE` (default `memory`), connected and migrated.
 *
 * @example
 * ```ts
 * const options = { ...sessionOptions(), store: await openStore() }
 * ```
 */
export async function openStore(name = process.env['BENCH_STORE'] ?? 'memory'): Promise<SessionStore> {
  switch (name) {
    case 'cookie':
      return new CookieStore()
    case 'memory':
      return new MemoryStore()
    case 'redis': {
      const { createClient } = await import('redis')
      const { RedisStore } = await import('../../dist/stores/redis/index.js')
      const client = createClient({ url: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' })
      client.on('error', (error: Error) => console.error(`redis: ${error.message}`))
      await client.connect()
      return new RedisStore({ client, prefix: 'cloakroom-bench:' })
    }
    case 'postgres': {
      const { default: pg } = await import('pg')
      const { PostgresStore } = await import('../../dist/stores/postgres/index.js')
      const pool = new pg.Pool({
        host: process.env['PGHOST'] ?? '127.0.0.1',
        port: Number(process.env['PGPORT'] ?? 5432),
        database: process.env['PGDATABASE'] ?? 'test',
        user: process.env['PGUSER'] ?? 'postgres',
      })
      const store = new PostgresStore({ pool, table: 'cloakroom_bench_sessions' })
      await store.migrate()
      // Each server starts from an empty table, as the other stores start empty.
      await pool.query('TRUNCATE cloakroom_bench_sessions')
      return store
    }
    case 'sqlite': {
      const { default: Database } = await import('better-sqlite3')
      const { SqliteStore } = await import('../../dist/stores/sqlite/index.js')
      const folder = fileURLToPath(new URL('../.work/', import.meta.url))
      mkdirSync(folder, { recursive: true })
      const file = `${folder}sessions-${process.pid}.db`
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true })
      const store = new SqliteStore({ db: new Database(file) })
      await store.migrate()
      return store
    }
    default:
      throw new Error(`BENCH_STORE=${name} is not one of cookie, memory, redis, postgres, sqlite`)
  }
}

/**
 * The options every cloakroom server uses: its defaults (private cookies, browser lifecycle, the
 * cookie cache on) except `secure: false`, because the benchmark speaks plain HTTP on loopback.
 * `BENCH_COOKIE_CACHE=0` turns the cookie cache off, to measure what it saves in the same run.
 *
 * @example
 * ```ts
 * app.use(sessions(await cloakroomOptions()))
 * ```
 */
export async function cloakroomOptions(): Promise<SessionOptions> {
  const cache = process.env['BENCH_COOKIE_CACHE'] === '0' ? { cookieCache: false as const } : {}
  return { store: await openStore(), keys: [SECRET], cookie: { secure: false }, ...cache }
}
