/**
 * The figures docs/deploying.md quotes, measured on this machine: how many sessions fit in a GiB of
 * each store, and how many requests per second one app instance serves on each (and what Redis
 * `durability` costs a login and a logout).
 *
 * Run: `node --expose-gc --import tsx scripts/measure-deploy.ts` (Redis and a 3+3 Redis Cluster are
 * started here, on free ports; PostgreSQL is the test database at 127.0.0.1:5432, in a table of its
 * own that is dropped afterwards). Prints Markdown.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { createClient } from 'redis'
import type { SessionRecord, SessionStore } from '../src/core/store.js'
import { CookieStore } from '../src/stores/cookie/index.js'
import { MemoryStore } from '../src/stores/memory/index.js'
import { PostgresStore } from '../src/stores/postgres/index.js'
import { RedisStore } from '../src/stores/redis/index.js'
import { SqliteStore } from '../src/stores/sqlite/index.js'
import { startApp } from '../test/scale/apps.js'
import type { StackKind } from '../test/scale/app.js'
import { Load } from '../test/scale/load.js'
import { findTestPostgres } from '../test/support/postgres.js'
import { startRedisCluster } from '../test/support/redis-cluster.js'
import { startRedisServer } from '../test/support/redis-process.js'

const SESSIONS = 20_000
const GIB = 1024 ** 3
const DAY = 86_400_000

/** A signed-in user's session as the scale-out suite keeps it, plus a CSRF token: about 100 bytes of JSON. */
function typical(i: number, filed: boolean): SessionRecord {
  const record: SessionRecord = {
    data: { userId: `user-${String(i).padStart(6, '0')}`, n: i % 100, csrf: randomBytes(32).toString('base64url'), theme: 'dark' },
    createdAt: Date.now(),
    absoluteExpiresAt: null,
  }
  if (filed) record.owner = { userId: `user-${String(i).padStart(6, '0')}`, handle: randomBytes(12).toString('base64url'), lastSeenAt: Date.now(), info: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0' } }
  return record
}

async function fill(store: SessionStore, filed: boolean): Promise<void> {
  for (let i = 0; i < SESSIONS; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, SESSIONS - i) }, (_, j) => store.create(typical(i + j, filed), DAY)))
  }
}

function perGib(bytes: number): string {
  const sessions = (SESSIONS / bytes) * GIB
  return `${Math.round(bytes / SESSIONS)} B → ${(sessions / 1e6).toFixed(2)} M per GiB`
}

async function footprint(): Promise<string[]> {
  const rows: string[] = []
  const gc = (globalThis as { gc?: () => void }).gc
  // What a filled store holds is what the heap gives back when the store is dropped.
  for (const filed of [false, true]) {
    let memory: MemoryStore | undefined = new MemoryStore({ maxEntries: SESSIONS * 2, maxBytes: 1024 ** 3 })
    await fill(memory, filed)
    gc?.()
    const full = process.memoryUsage().heapUsed
    memory = undefined
    gc?.()
    const freed = full - process.memoryUsage().heapUsed
    rows.push(`| memory${filed ? ', filed by user' : ''} | ${perGib(freed)} | V8 heap freed by dropping the store${gc ? '' : ' (run with --expose-gc)'} |`)
  }

  const redis = await startRedisServer()
  const client = await createClient({ url: `redis://127.0.0.1:${redis.port}` }).on('error', () => {}).connect()
  try {
    for (const filed of [false, true]) {
      await client.sendCommand(['FLUSHALL'])
      const used = async () => Number(/used_memory:(\d+)/.exec(String(await client.sendCommand(['INFO', 'memory'])))?.[1])
      const before = await used()
      await fill(new RedisStore({ client, prefix: 'm:' }), filed)
      rows.push(`| Redis 7.0${filed ? ', filed by user (+ the user index)' : ''} | ${perGib((await used()) - before)} | \`used_memory\`; add replicas, fragmentation and headroom |`)
    }
  } finally {
    await client.close()
    await redis.stop()
  }

  const env = await findTestPostgres()
  if (env) {
    const pool = new pg.Pool(env.config)
    const table = `cloakroom_measure_${randomBytes(3).toString('hex')}`
    try {
      const store = new PostgresStore({ pool, table })
      await store.migrate()
      await fill(store, false)
      await pool.query(`VACUUM ANALYZE ${table}`)
      const { rows: size } = await pool.query<{ bytes: string }>(`SELECT pg_total_relation_size($1) AS bytes`, [table])
      rows.push(`| PostgreSQL 15 | ${perGib(Number(size[0]?.bytes))} | \`pg_total_relation_size\` (table, TOAST, primary key and expiry index) |`)
    } finally {
      await pool.query(`DROP TABLE IF EXISTS ${table}`)
      await pool.end()
    }
  }

  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-measure-'))
  try {
    const file = join(dir, 'sessions.db')
    const db = new Database(file)
    const store = new SqliteStore({ db })
    await store.migrate()
    await fill(store, false)
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    rows.push(`| SQLite (better-sqlite3) | ${perGib(statSync(file).size)} | the database file after a checkpoint |`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  const cookie = new CookieStore()
  void cookie
  rows.push('| cookie | none on the server | the record travels in the cookie (under 4096 bytes) |')
  return rows
}

/** One app instance per stack: saturated with 32 requests in flight for 5 s, then one request at a time for 3 s. */
async function throughput(): Promise<string[]> {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2000 })
  const env = await findTestPostgres()
  const table = `cloakroom_measure_${randomBytes(3).toString('hex')}`
  const admin = env ? new pg.Pool(env.config) : undefined
  if (admin) await new PostgresStore({ pool: admin, table }).migrate()
  const stacks: Record<string, StackKind> = { nr: 'node-redis', io: 'ioredis', 'nr-d': 'node-redis-durable', 'io-d': 'ioredis-durable' }
  if (env) stacks['pg'] = 'postgres'
  const app = await startApp({
    redisPorts: cluster.ports,
    ...(env ? { postgres: { config: env.config, table } } : {}),
    stacks,
    secret: randomBytes(32).toString('base64url'),
  })
  const rows: string[] = []
  const run = async (stack: string, users: number, seconds: number) => {
    const load = new Load([app.port], [stack], users, 0)
    load.startClosedLoop()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    load.resetPhase()
    const started = Date.now()
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
    await load.stop()
    const elapsed = (Date.now() - started) / 1000
    const outcomes = load.outcomes(stack)
    load.close()
    const median = (op: string) => {
      const ms = outcomes.filter((o) => o.ok && o.op === op).map((o) => o.ms).sort((a, b) => a - b)
      return (ms[Math.floor(ms.length / 2)] ?? 0).toFixed(1)
    }
    return { perSecond: Math.round(outcomes.length / elapsed), failed: outcomes.filter((o) => !o.ok).length, median }
  }
  try {
    for (const stack of Object.keys(stacks)) {
      const busy = await run(stack, 32, 5)
      // One request at a time: each operation's own round trips, not the queue in front of it.
      const alone = await run(stack, 1, 3)
      rows.push(
        `| ${stack} (${stacks[stack]}) | ${busy.perSecond} | ${busy.failed} | ${alone.median('login')} | ${alone.median('logout')} | ${alone.median('renew')} | ${alone.median('inc')} | ${alone.median('me')} |`,
      )
    }
  } finally {
    await app.stop()
    await cluster.stop()
    if (admin) {
      await admin.query(`DROP TABLE IF EXISTS ${table}`)
      await admin.end()
    }
  }
  return rows
}

const footprintRows = await footprint()
console.log(`\n## Sessions per GiB (${SESSIONS} sessions of about 100 bytes of JSON)\n`)
console.log('| store | per session | how it was measured |\n|---|--:|---|')
console.log(footprintRows.join('\n'))
const throughputRows = await throughput()
console.log('\n## One app instance (node:http): the scale-out mix with 32 requests in flight (req/s), then one at a time (median ms per operation)\n')
console.log('| stack | req/s | failed | login | logout | renew | write | read |\n|---|--:|--:|--:|--:|--:|--:|--:|')
console.log(throughputRows.join('\n'))
