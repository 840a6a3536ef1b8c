import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { SessionStore } from '../src/core/store.js'
import { CookieStore } from '../src/stores/cookie/index.js'
import { MemoryStore } from '../src/stores/memory/index.js'

/** A store for the demo, picked by `SESSION_STORE`, and a function that releases its connections. */
export interface DemoStore {
  name: string
  store: SessionStore
  close(): Promise<void>
}

/**
 * `SESSION_STORE` unset → SQLite in `.data/sessions.db` (survives a restart);
 * `cookie`, `memory`, `sqlite:<file>`, `redis://…` or `postgres://…` pick another.
 */
export async function openDemoStore(setting = process.env.SESSION_STORE ?? 'sqlite:.data/sessions.db'): Promise<DemoStore> {
  if (setting === 'cookie') return { name: 'cookie', store: new CookieStore(), close: async () => {} }
  if (setting === 'memory') return { name: 'memory', store: new MemoryStore(), close: async () => {} }
  if (setting.startsWith('sqlite:')) {
    const file = setting.slice('sqlite:'.length)
    const { default: Database } = await import('better-sqlite3')
    const { SqliteStore } = await import('../src/stores/sqlite/index.js')
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    const db = new Database(file)
    const store = new SqliteStore({ db })
    await store.migrate()
    return { name: `sqlite (${file})`, store, close: async () => void db.close() }
  }
  if (setting.startsWith('redis://') || setting.startsWith('rediss://')) {
    const { createClient } = await import('redis')
    const { RedisStore } = await import('../src/stores/redis/index.js')
    const client = createClient({ url: setting })
    client.on('error', (error: Error) => console.error(`redis: ${error.message}`))
    await client.connect()
    return { name: 'redis', store: new RedisStore({ client }), close: async () => void (await client.quit()) }
  }
  if (setting.startsWith('postgres://') || setting.startsWith('postgresql://')) {
    const { default: pg } = await import('pg')
    const { PostgresStore } = await import('../src/stores/postgres/index.js')
    const pool = new pg.Pool({ connectionString: setting })
    const store = new PostgresStore({ pool })
    await store.migrate()
    return { name: 'postgres', store, close: () => pool.end() }
  }
  throw new Error(
    `SESSION_STORE=${JSON.stringify(setting)} is not understood; use cookie, memory, sqlite:<file>, redis://host:port or postgres://user@host/db`,
  )
}
