/**
 * One app instance of the scale-out suite: a node:http server with one cloakroom session stack per
 * backend, each under its own path prefix (`/<stack>/…`). Run as its own process (`node --import tsx`),
 * configured by the JSON in `SCALE_APP` ({@link AppConfig}); prints `ready <port>` once it listens.
 *
 * Routes, per stack: `POST login?user=u` (files the session under `u` and renews its id), `POST inc`
 * (adds 1 to the session's counter, answers the new value), `GET me` (the user and counter, `-` for
 * no session; never creates one), `POST renew` and `POST logout` (purge; both answer whose session it
 * was), `POST revoke-others` (ends the
 * user's other sessions, where the store can list them), and `GET /health` (this process's id, its unhandled rejections, and the
 * store errors its managers logged, counted by message).
 *
 * @module
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Cluster } from 'ioredis'
import pg from 'pg'
import { createCluster } from 'redis'
import { withSessions } from '../../src/adapters/node/index.js'
import type { SessionStore } from '../../src/core/store.js'
import type { Session } from '../../src/core/session.js'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import { RedisStore } from '../../src/stores/redis/index.js'

/**
 * What one stack runs on.
 *
 * @example
 * ```ts
 * const stacks: Record<string, StackKind> = { nr: 'node-redis', pg: 'postgres' }
 * ```
 */
export type StackKind = 'node-redis' | 'ioredis' | 'node-redis-durable' | 'ioredis-durable' | 'postgres'

/**
 * The configuration an app process reads from `SCALE_APP`.
 *
 * @example
 * ```ts
 * const config: AppConfig = { redisPorts: [7000], stacks: { nr: 'node-redis' }, secret }
 * ```
 */
export interface AppConfig {
  /** The cluster's ports (any of its nodes), for the Redis stacks. */
  redisPorts: number[]
  /** A PostgreSQL pool's settings and the table, for the postgres stack. */
  postgres?: { config: pg.PoolConfig; table: string }
  /** The stacks to serve, by the path prefix each is served under. */
  stacks: Record<string, StackKind>
  /** The secret every instance shares. */
  secret: string
}

const config = JSON.parse(process.env['SCALE_APP'] ?? '{}') as AppConfig
let unhandled = 0
let handlerErrors = 0
// What the managers logged as errors (store failures: the operation and the kind, never an id), counted.
const errors: Record<string, number> = {}
const countError = (message: string) => {
  const key = message.replace(/\d+ ms/g, 'N ms')
  errors[key] = (errors[key] ?? 0) + 1
}
process.on('unhandledRejection', (reason) => {
  unhandled++
  process.stderr.write(`unhandled rejection: ${String(reason)}\n`)
})

// Store calls are bounded at 1 s; the durable stacks wait up to 100 ms for a replica.
const STORE_TIMEOUT_MS = 1000
const DURABILITY = { replicas: 1, timeoutMs: 100 }

async function openStore(kind: StackKind, prefix: string): Promise<SessionStore> {
  const rootNodes = config.redisPorts.map((port) => ({ host: '127.0.0.1', port }))
  const durability = kind.endsWith('-durable') ? DURABILITY : undefined
  if (kind.startsWith('node-redis')) {
    const client = await createCluster({ rootNodes: rootNodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })) })
      .on('error', () => {})
      .connect()
    return new RedisStore({ client, prefix, timeoutMs: STORE_TIMEOUT_MS, ...(durability ? { durability } : {}) })
  }
  if (kind.startsWith('ioredis')) {
    const client = new Cluster(rootNodes, { lazyConnect: true })
    client.on('error', () => {})
    await client.connect()
    return new RedisStore({ client, prefix, timeoutMs: STORE_TIMEOUT_MS, ...(durability ? { durability } : {}) })
  }
  if (!config.postgres) throw new Error('a postgres stack needs config.postgres')
  const pool = new pg.Pool({ ...config.postgres.config, max: 8, application_name: 'cloakroom-scale' })
  pool.on('error', () => {})
  return new PostgresStore({ pool, table: config.postgres.table, timeoutMs: STORE_TIMEOUT_MS })
}

type Data = { userId?: string; n?: number }

async function route(action: string, url: URL, res: ServerResponse, session: Session<Data>, canRevoke: boolean): Promise<void> {
  res.setHeader('content-type', 'text/plain')
  switch (action) {
    case 'login': {
      const user = url.searchParams.get('user') ?? ''
      session.insert('userId', user)
      session.insert('n', 0)
      session.renew()
      res.end('ok')
      return
    }
    case 'inc': {
      const next = ((await session.get('n')) ?? 0) + 1
      session.insert('n', next)
      res.end(String(next))
      return
    }
    case 'me': {
      const user = await session.get('userId')
      res.end(user === undefined ? '-' : `${user} ${(await session.get('n')) ?? 0}`)
      return
    }
    // Both answer whose session it was ('-': none), so the load knows what it retired.
    case 'renew':
      session.renew()
      res.end((await session.get('userId')) ?? '-')
      return
    case 'logout': {
      const user = (await session.get('userId')) ?? '-'
      session.purge()
      res.end(user)
      return
    }
    case 'revoke-others':
      // A store that cannot list a user's sessions (PostgreSQL, for now) has nothing to revoke.
      res.end(canRevoke ? String(await session.revokeOtherUserSessions()) : '-')
      return
    default:
      res.statusCode = 404
      res.end()
  }
}

const handlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>()
for (const [name, kind] of Object.entries(config.stacks)) {
  const store = await openStore(kind, `cloakroom-scale:${name}:`)
  const canRevoke = store.revokeByUser !== undefined
  handlers.set(
    name,
    withSessions<Data>(
      {
        store,
        keys: [config.secret],
        userKey: 'userId',
        cookie: { name: `s-${name}`, secure: false },
        logger: { warn: () => {}, error: (message) => countError(`${name}: ${message}`), debug: () => {} },
        onHandlerError: () => void handlerErrors++,
      },
      (req, res, session) => {
        const url = new URL(req.url ?? '/', 'http://app')
        return route(url.pathname.split('/')[2] ?? '', url, res, session, canRevoke)
      },
    ),
  )
}

const server = createServer((req, res) => {
  const stack = (req.url ?? '/').split('/')[1] ?? ''
  if (stack === 'health') {
    res.end(JSON.stringify({ pid: process.pid, unhandled, handlerErrors, errors }))
    return
  }
  const handler = handlers.get(stack)
  if (handler === undefined) {
    res.statusCode = 404
    res.end()
    return
  }
  handler(req, res)
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`ready ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
})
