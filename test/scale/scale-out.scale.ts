/**
 * The scale-out suite (`npm run test:scale`, not part of `npm test`): three app instances on
 * loopback ports, users driven at a bounded rate in turn through all three, and the faults an
 * operator meets, injected under that load:
 *
 * - Redis Cluster, 3 masters and 3 replicas, cluster-node-timeout 2 s, with node-redis and ioredis
 *   side by side (each with and without `durability`): kill -9 of a master, a graceful
 *   `CLUSTER FAILOVER`, a reshard of 300 slots, and a replication gap (a replica cut off for 1.5 s
 *   when its master dies).
 * - PostgreSQL: every backend of the apps terminated, then the server restarted (last, and short:
 *   the server is shared).
 *
 * After each fault: errors stopped within 8 s, no session and no acknowledged write lost (outside
 * the replication gap, which Redis documents), no logged-out or renewed-away cookie readable (with
 * durability, in the gap too), no unhandled rejection, and every app answers, same process.
 *
 * @module
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import { waitFor } from '../support/poll.js'
import { findTestPostgres } from '../support/postgres.js'
import { busiestSlots, caughtUp, clusterHealthy, clusterNodes, errorCount, migrateSlots, nodeCommand, reshard, startRedisCluster } from '../support/redis-cluster.js'
import type { RedisCluster } from '../support/redis-cluster.js'
import { hasRedisServer } from '../support/redis-process.js'
import type { StackKind } from './app.js'
import { startApp } from './apps.js'
import type { AppProcess } from './apps.js'
import { Load } from './load.js'
import type { Verdict } from './load.js'
import { figuresOf, table } from './report.js'
import type { PhaseFigures } from './report.js'

const run = promisify(execFile)
const CI = process.env.CI === 'true'
const USERS = 300
const ERRORS_STOP_WITHIN_MS = 8000
const QUIET_MS = 2000
const SECRET = randomBytes(32).toString('base64url')

/** A master serving slots and its replica, by port. */
interface Pair {
  master: number
  replica: number
}

const figures: PhaseFigures[] = []
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

/** Resolves after `ms`: the length of a load period or of a fault, never a wait for a state. */
function hold(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Waits until none of `stacks` has had a failed request for `QUIET_MS` (at most `boundMs` after `since`). */
async function quiet(load: Load, stacks: string[], since: number, boundMs = 15_000): Promise<void> {
  await waitFor(
    `${QUIET_MS} ms without a failed request`,
    () => {
      const last = Math.max(since, ...stacks.flatMap((stack) => load.outcomes(stack).filter((o) => !o.ok).map((o) => o.at + o.ms)))
      return Date.now() - last >= QUIET_MS
    },
    boundMs,
    100,
  )
}

async function checkApps(apps: AppProcess[], pids: number[]): Promise<void> {
  const logged: Record<string, number> = {}
  for (const [i, app] of apps.entries()) {
    expect(app.alive(), `app ${i} is running`).toBe(true)
    const health = (await (await fetch(`http://127.0.0.1:${app.port}/health`)).json()) as { pid: number; unhandled: number; errors: Record<string, number> }
    expect(health.pid, `app ${i} is the same process`).toBe(pids[i])
    expect(health.unhandled, `app ${i}: unhandled rejections (${app.stderr()})`).toBe(0)
    // A store failure under these faults is an outage ('unavailable') or, at worst, a 'timeout':
    // never 'backend', which would say Redis or PostgreSQL refused the command itself.
    for (const [message, count] of Object.entries(health.errors)) logged[message] = (logged[message] ?? 0) + count
    const otherKinds = Object.keys(health.errors).filter((message) => !/\((unavailable|timeout)\)$/.test(message))
    expect(otherKinds, `app ${i}: store errors of another kind: ${JSON.stringify(otherKinds)}`).toEqual([])
  }
  expect(unhandled).toEqual([])
  // What the instances' managers logged so far (counts since they started), for the report.
  console.info(`store errors logged by the instances so far: ${JSON.stringify(logged)}`)
}

/**
 * Checks a stack's verdict: `'all'` nothing lost or back; `'retired'` (in the replication gap, with
 * durability) no logged-out or renewed-away session back, while logins and writes acknowledged in
 * the gap may be lost: durability covers logout and renew, not create or apply.
 */
function expectClean(verdict: Verdict, what: string, scope: 'all' | 'retired' = 'all'): void {
  if (verdict.examples.length > 0) console.info(`${what}:\n${verdict.examples.join('\n')}`)
  expect(verdict.failedChecks, `${what}: checks that got no answer`).toBe(0)
  expect(verdict.extraWrites, `${what}: writes from nowhere`).toBe(0)
  expect(verdict.resurrected, `${what}: logged-out sessions readable`).toBe(0)
  expect(verdict.renewedAwayValid, `${what}: renewed-away ids valid`).toBe(0)
  if (scope === 'retired') return
  expect(verdict.lostSessions, `${what}: lost sessions`).toBe(0)
  expect(verdict.lostWrites, `${what}: lost acknowledged writes`).toBe(0)
}

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  if (figures.length > 0) console.info(`\nScale-out suite, measured:\n\n${table(figures)}\n`)
})

describe('scale-out: three app instances on a Redis Cluster of 3 masters and 3 replicas', () => {
  if (!hasRedisServer()) {
    if (CI) it('redis-server is available (required when CI=true)', () => expect.fail('redis-server is missing'))
    else console.warn('\n!!! SKIPPING the Redis scale-out suite: redis-server is missing\n')
    return
  }
  const stacks: Record<string, StackKind> = { nr: 'node-redis', io: 'ioredis', 'nr-d': 'node-redis-durable', 'io-d': 'ioredis-durable' }
  const names = Object.keys(stacks)
  const plain = ['nr', 'io']
  const durable = ['nr-d', 'io-d']
  let cluster: RedisCluster
  let apps: AppProcess[] = []
  let pids: number[] = []
  let load: Load

  /** The masters serving slots, and each one's replica, as the node on `askPort` sees them. */
  const topology = async () => {
    const running = (port: number) => cluster.node(port).child.exitCode === null && cluster.node(port).child.signalCode === null
    const nodes = await clusterNodes(cluster.allPorts.find(running) as number)
    return nodes
      .filter((node) => node.master && node.slots > 0 && !node.failing)
      .map((master) => ({ master: master.port, replica: nodes.find((node) => node.masterId === master.id)?.port as number }))
  }
  const healed = async () => {
    await waitFor('the cluster to heal', () => clusterHealthy(cluster.allPorts, 3, 1), 30_000, 200)
    // Under load a replica trails by a few writes at any instant: synced is online and within 1 MB.
    for (const { master } of await topology()) await waitFor('the replicas to sync', () => caughtUp(master, 1, 1 << 20), 30_000, 100)
  }
  /**
   * Ends a fault's phase: stops the load, checks every stack (`checked` must be clean), every app,
   * and that errors stopped within the bound: after the fault, or for the durable stacks, which
   * need a replica to acknowledge a logout, after the dead node came back (`replicaBackAt`).
   */
  const phase = async (fault: string, faultAt: number, checked: string[], replicaBackAt = faultAt, scope: 'all' | 'retired' = 'all') => {
    await load.stop()
    const rows: PhaseFigures[] = []
    for (const stack of names) {
      const verdict = await load.verify(stack)
      rows.push(figuresOf(fault, stack, load.outcomes(stack), faultAt, verdict))
    }
    figures.push(...rows)
    console.info(`${fault}: fault at ${faultAt}, a replica back at ${replicaBackAt}, phase ended at ${Date.now()}`)
    for (const row of rows) if (checked.includes(row.stack)) expectClean(row.verdict, `${fault}, ${row.stack}`, scope)
    await checkApps(apps, pids)
    for (const row of rows) {
      const from = durable.includes(row.stack) ? replicaBackAt - faultAt : 0
      expect(row.lastFailureMs ?? 0, `${fault}, ${row.stack}: errors stopped within ${ERRORS_STOP_WITHIN_MS} ms`).toBeLessThan(from + ERRORS_STOP_WITHIN_MS)
    }
    load.resetPhase()
    return rows
  }

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2000 })
    apps = await Promise.all([0, 1, 2].map(() => startApp({ redisPorts: cluster.ports, stacks, secret: SECRET })))
    pids = apps.map((app) => app.pid)
    load = new Load(
      apps.map((app) => app.port),
      names,
      USERS,
      400,
    )
  }, 120_000)
  afterAll(async () => {
    await load?.stop()
    load?.close()
    await Promise.all(apps.map((app) => app.stop()))
    await cluster?.stop()
  })

  it('kill -9 of a master: errors stop within 8 s, nothing lost, the killed node rejoins as a replica', async () => {
    load.start()
    await hold(3000)
    load.resetPhase()
    const { master: victim } = (await topology())[0] as Pair
    const faultAt = Date.now()
    await cluster.kill(victim)
    await waitFor('a replica to take over', async () => (await topology()).length === 3, 20_000, 100)
    await quiet(load, plain, faultAt)
    // Brought back once the clients have moved on (restarted at once, without persistence, it would
    // serve its old slots empty until the cluster tells it it was replaced); it rejoins as the
    // replica of its successor. Until then that master has no replica, and every durable logout
    // fails: no replica can acknowledge it.
    const restartAt = Date.now()
    await cluster.restart(victim)
    await quiet(load, names, restartAt)
    await healed()
    await hold(1000)
    const rows = await phase('kill -9 of a master', faultAt, names, restartAt)
    // The fault was real: both drivers saw it.
    for (const stack of plain) expect(rows.find((row) => row.stack === stack)?.failed).toBeGreaterThan(0)
  }, 90_000)

  it('CLUSTER FAILOVER (graceful): errors stop within 8 s, nothing lost', async () => {
    load.start()
    await hold(1000)
    load.resetPhase()
    const { master, replica } = (await topology())[0] as Pair
    const faultAt = Date.now()
    await nodeCommand(replica, ['CLUSTER', 'FAILOVER'])
    await waitFor('the replica to become master', async () => (await topology()).some((pair) => pair.master === replica && pair.replica === master), 20_000, 100)
    await healed()
    await hold(2000)
    await phase('CLUSTER FAILOVER', faultAt, names)
  }, 90_000)

  it('reshard of 300 slots under load (redis-cli): errors stop within 8 s, nothing lost', async () => {
    load.start()
    await hold(1000)
    load.resetPhase()
    const [from, to] = (await topology()) as [Pair, Pair]
    const redirections = async () => (await Promise.all([from.master, to.master].flatMap((port) => [errorCount(port, 'ASK'), errorCount(port, 'TRYAGAIN')]))).reduce((a, b) => a + b, 0)
    const before = await redirections()
    const faultAt = Date.now()
    await reshard(from.master, from.master, to.master, 300)
    const during = (await redirections()) - before
    await healed()
    await hold(1000)
    await phase('reshard of 300 slots', faultAt, names)
    console.info(`reshard of 300 slots: ${during} ASK and TRYAGAIN replies while it ran`)
  }, 90_000)

  it('300 slots holding sessions half-moved at once for seconds: every write is redirected or retried, nothing lost, logouts hold', async () => {
    load.start()
    await hold(1000)
    load.resetPhase()
    const [from, to] = (await topology()) as [Pair, Pair]
    // redis-cli moves one slot at a time, in milliseconds: few requests ever meet a slot mid-move.
    // Here the 300 slots of `from` holding the most sessions are all half-way for about 3 s.
    const slots = await busiestSlots(from.master, 'cloakroom-scale:*', 300)
    const redirections = async () => (await Promise.all([from.master, to.master].flatMap((port) => [errorCount(port, 'ASK'), errorCount(port, 'TRYAGAIN')]))).reduce((a, b) => a + b, 0)
    const before = await redirections()
    const faultAt = Date.now()
    await migrateSlots((await topology()).map((pair) => pair.master), from.master, to.master, slots, 10)
    const during = (await redirections()) - before
    await healed()
    await hold(1000)
    await phase(`${slots.length} busy slots half-moved`, faultAt, names)
    // The migration met the load: requests were redirected (ASK) or refused (TRYAGAIN) and retried.
    console.info(`${slots.length} busy slots half-moved: ${during} ASK and TRYAGAIN replies while they moved`)
    expect(during).toBeGreaterThan(0)
  }, 90_000)

  it('replication gap (a replica 1.5 s behind when its master dies): with durability, no logged-out or renewed-away session comes back', async () => {
    load.start()
    await hold(1000)
    load.resetPhase()
    const { master, replica } = (await topology())[0] as Pair
    // Cut the replica off: stopped, and its link closed, so nothing written from now reaches it.
    cluster.node(replica).signal('SIGSTOP')
    await nodeCommand(master, ['CLIENT', 'KILL', 'TYPE', 'replica'])
    await hold(1500)
    const faultAt = Date.now()
    await cluster.kill(master)
    cluster.node(replica).signal('SIGCONT')
    await waitFor('the cut-off replica to take over', async () => (await topology()).some((pair) => pair.master === replica), 20_000, 100)
    await quiet(load, plain, faultAt)
    const restartAt = Date.now()
    await cluster.restart(master)
    await quiet(load, names, restartAt)
    await healed()
    await hold(1000)
    // The durable stacks must be clean; the plain ones lose what Redis' asynchronous replication loses.
    const rows = await phase('replication gap of 1.5 s', faultAt, durable, restartAt, 'retired')
    const gap = rows.filter((row) => plain.includes(row.stack)).map((row) => row.verdict)
    const undone = gap.reduce((sum, v) => sum + v.resurrected + v.renewedAwayValid + v.lostSessions + v.lostWrites, 0)
    expect(undone, 'the gap was real: the plain stacks lost something').toBeGreaterThan(0)
  }, 90_000)
})

describe('scale-out: three app instances on one PostgreSQL', () => {
  const tableName = `cloakroom_scale_${randomBytes(4).toString('hex')}`
  let apps: AppProcess[] = []
  let pids: number[] = []
  let load: Load
  let admin: pg.Pool | undefined
  const phase = async (fault: string, faultAt: number) => {
    await load.stop()
    const verdict = await load.verify('pg')
    const row = figuresOf(fault, 'pg', load.outcomes('pg'), faultAt, verdict)
    figures.push(row)
    expectClean(verdict, fault)
    await checkApps(apps, pids)
    expect(row.lastFailureMs ?? 0, `${fault}: errors stopped within ${ERRORS_STOP_WITHIN_MS} ms`).toBeLessThan(ERRORS_STOP_WITHIN_MS)
    load.resetPhase()
    return row
  }

  beforeAll(async () => {
    const env = await findTestPostgres()
    if (!env) return
    admin = new pg.Pool({ ...env.config, max: 2 })
    admin.on('error', () => {})
    await new PostgresStore({ pool: admin, table: tableName }).migrate()
    apps = await Promise.all([0, 1, 2].map(() => startApp({ redisPorts: [], postgres: { config: env.config, table: tableName }, stacks: { pg: 'postgres' }, secret: SECRET })))
    pids = apps.map((app) => app.pid)
    load = new Load(
      apps.map((app) => app.port),
      ['pg'],
      USERS,
      200,
    )
  }, 120_000)
  afterAll(async () => {
    await load?.stop()
    load?.close()
    await Promise.all(apps.map((app) => app.stop()))
    await admin?.query(`DROP TABLE IF EXISTS ${tableName}`).catch(() => {})
    await admin?.end()
  })

  it('every backend of the apps terminated: errors stop within 8 s, nothing lost', async () => {
    if (!admin) return
    load.start()
    await hold(2000)
    load.resetPhase()
    const faultAt = Date.now()
    const { rowCount } = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cloakroom-scale'`)
    expect(rowCount).toBeGreaterThan(0)
    await quiet(load, ['pg'], faultAt)
    await phase('pg_terminate_backend of every app connection', faultAt)
  }, 60_000)

  // Last of the whole suite: the server is shared with every other test on this machine.
  it('a server restart (pg_ctlcluster restart): errors stop within 8 s, nothing lost, no app restarted', async () => {
    if (!admin) return
    const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : []
    if (versions.length === 0) {
      if (CI) expect.fail('pg_ctlcluster cannot restart the test PostgreSQL: /etc/postgresql is empty')
      console.warn('\n!!! SKIPPING the PostgreSQL restart: no cluster under /etc/postgresql\n')
      return
    }
    load.start()
    await hold(2000)
    load.resetPhase()
    const faultAt = Date.now()
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', versions[0] as string, 'main', 'restart'])
    await quiet(load, ['pg'], faultAt)
    await phase('PostgreSQL restart', faultAt)
  }, 60_000)
})
