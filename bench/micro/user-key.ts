/**
 * What `userKey` costs per `/counter` request, per store: the same begin → get → insert → commit
 * through two managers on one store, one filing sessions by user (the session is filed, as after a
 * login), one not. Each variant runs in alternating batches, and the report gives the median µs per
 * request of each and the difference. Redis and PostgreSQL are measured when they answer on
 * their default local ports. Run as `npm run build && tsx bench/micro/user-key.ts [out.md]`.
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { CookieStore, createSessionManager, MemoryStore, type HeaderView, type SessionStore } from '../../dist/index.js'
import { SECRET } from '../servers/common.js'

class Lines implements HeaderView {
  value: string | null = null
  get(): string | null {
    return null
  }
  set(): void {}
  append(_name: string, value: string): void {
    this.value = value
  }
}

type Manager = ReturnType<typeof createSessionManager>

async function signedIn(manager: Manager, filed: boolean): Promise<string> {
  const session = manager.begin(undefined)
  session.insert('counter', 0)
  if (filed) session.insert('userId', 'ada')
  const headers = new Lines()
  await manager.commit(session, { status: 200, headers })
  return (headers.value ?? '').split(';', 1)[0] ?? ''
}

async function counter(manager: Manager, cookie: { value: string }): Promise<void> {
  const session = manager.begin(cookie.value)
  session.insert('counter', ((await session.get('counter')) as number) + 1)
  const headers = new Lines()
  await manager.commit(session, { status: 200, headers })
  // The cookie store issues a new value on every write: carry it, as a browser would.
  if (headers.value !== null) cookie.value = headers.value.split(';', 1)[0] ?? cookie.value
}

async function batch(manager: Manager, cookie: { value: string }, n: number): Promise<number> {
  const started = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await counter(manager, cookie)
  return Number(process.hrtime.bigint() - started) / 1000 / n
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

async function measure(name: string, store: SessionStore, perBatch: number): Promise<string> {
  const plain = createSessionManager({ store, keys: [SECRET], cookie: { secure: false } })
  const filing = createSessionManager({ store, keys: [SECRET], cookie: { secure: false }, userKey: 'userId' })
  const plainCookie = { value: await signedIn(plain, false) }
  const filedCookie = { value: await signedIn(filing, true) }
  await batch(plain, plainCookie, perBatch)
  await batch(filing, filedCookie, perBatch)
  const without: number[] = []
  const withKey: number[] = []
  for (let round = 0; round < 15; round++) {
    without.push(await batch(plain, plainCookie, perBatch))
    withKey.push(await batch(filing, filedCookie, perBatch))
  }
  const a = median(without)
  const b = median(withKey)
  return `| ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b - a >= 0 ? '+' : '') + (b - a).toFixed(1)} |`
}

const rows: string[] = []
rows.push(await measure('memory', new MemoryStore(), 2000))
rows.push(await measure('cookie (with a revocation list)', new CookieStore({ revocations: new MemoryStore().revocationList() }), 2000))
{
  const { default: Database } = await import('better-sqlite3')
  const { SqliteStore } = await import('../../dist/stores/sqlite/index.js')
  const store = new SqliteStore({ db: new Database(':memory:') })
  await store.migrate()
  rows.push(await measure('sqlite (:memory:)', store, 500))
}
try {
  const { createClient } = await import('redis')
  const { RedisStore } = await import('../../dist/stores/redis/index.js')
  const client = createClient({ url: 'redis://127.0.0.1:6379' })
  client.on('error', () => {})
  await client.connect()
  rows.push(await measure('redis (node-redis)', new RedisStore({ client, prefix: 'cloakroom-bench-userkey:' }), 200))
  client.destroy()
} catch (error) {
  rows.push(`| redis | not measured (${String(error)}) | | |`)
}
try {
  const { default: pg } = await import('pg')
  const { PostgresStore } = await import('../../dist/stores/postgres/index.js')
  const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres' })
  const store = new PostgresStore({ pool, table: 'cloakroom_bench_userkey' })
  await store.migrate()
  rows.push(await measure('postgres', store, 100))
  await pool.query('DROP TABLE IF EXISTS cloakroom_bench_userkey, cloakroom_bench_userkey_revocations')
  await pool.end()
} catch (error) {
  rows.push(`| postgres | not measured (${String(error)}) | | |`)
}

const report = [
  `What \`userKey\` costs per /counter request (begin, get, insert, commit; the session filed under a user),`,
  `median of 15 alternating batches, µs per request, in-process and sequential, on ${cpus()[0]?.model ?? 'an unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  '',
  '| store | without userKey | with userKey (filed) | difference |',
  '|---|---|---|---|',
  ...rows,
  '',
].join('\n')
console.log(report)
if (process.argv[2] !== undefined) writeFileSync(process.argv[2], report)
