/**
 * `npm run bench`: every server of `matrix.ts` in its own process on a loopback port, driven by a
 * load generator in another process (the two pinned to different cores when `taskset` exists),
 * then the micro benchmarks, then the report (`results/`, and the README's performance section).
 *
 * Settings (environment): BENCH_SECONDS per measured run [1], BENCH_PASSES [3], BENCH_SESSIONS
 * [1000], BENCH_CONNECTIONS [32], BENCH_ONLY (a regular expression on target ids, e.g. `hono`),
 * BENCH_MICRO=0 to skip the micro benchmarks, BENCH_ROUTES (a comma-separated subset of the routes),
 * BENCH_OUT (a folder: only its raw.json is written, no report, no micro benchmarks; see costs.ts),
 * BENCH_VARIANTS (other checkouts measured in the same run: name=/path,...; see lib/variants.ts),
 * REDIS_URL, PGHOST/PGPORT/PGDATABASE/PGUSER.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem, release } from 'node:os'
import { fileURLToPath } from 'node:url'
import { allTargets, type Route, type Target } from './matrix.js'
import { startLoadGenerator, type LoadGenerator } from './lib/loadgen-process.js'
import { redisCommandsPerRequest } from './lib/redis-stats.js'
import type { RunResults, Sample, TargetResult } from './lib/results.js'
import { startServer } from './lib/server-process.js'
import { checkSessionsWork, makeSessions, sumCounters } from './lib/sessions.js'
import { writeReport } from './report.js'
import { runMicro } from './micro/run-micro.js'
import { canPinApart, freePort } from './lib/host.js'
import { withVariants } from './lib/variants.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))
const numberFrom = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  return Number.isFinite(value) && value > 0 ? value : fallback
}
const settings = {
  sessions: numberFrom('BENCH_SESSIONS', 1000),
  connections: numberFrom('BENCH_CONNECTIONS', 32),
  seconds: numberFrom('BENCH_SECONDS', 1),
  passes: numberFrom('BENCH_PASSES', 3),
  warmupSeconds: 0.7,
  pinned: canPinApart(),
}
const CONTENTION_SESSIONS = 8
const CONTENTION_REQUESTS = 3000
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
let loadgenWarm = false



async function measureTarget(target: Target, loadgen: LoadGenerator): Promise<TargetResult> {
  const port = await freePort()
  const server = await startServer({ file: target.file, port, env: target.env, cwd: root, cpus: settings.pinned ? '0' : undefined })
  const base = `http://127.0.0.1:${port}`
  const result: TargetResult = { target, samples: [] }
  try {
    // Every route gets sessions of its own: /login renews them, which would end /counter's sessions.
    const jars = new Map<Route, string[]>()
    // The bare servers read no cookie, but get as many distinct ones so every request has the same shape.
    if (target.library === 'bare') jars.set('/counter', Array.from({ length: settings.sessions }, () => `id=${randomBytes(32).toString('base64url')}`))
    for (const route of target.routes) {
      if (jars.has(route)) continue
      if (route === '/login' || jars.size === 0) jars.set(route, await makeSessions(base, settings.sessions))
      else jars.set(route, jars.get('/counter') ?? (await makeSessions(base, settings.sessions)))
    }
    if (target.library !== 'bare') await checkSessionsWork(base, jars.get(target.routes[0] as Route) ?? [])
    const job = (route: Route, cookies: string[]) => ({ url: base, path: route, cookies, connections: settings.connections })
    const rate = new Map<Route, number>()
    for (const route of target.routes) {
      // The load generator's own JIT warms up on the first server: give that one longer.
      const seconds = loadgenWarm ? settings.warmupSeconds : 3
      loadgenWarm = true
      const warm = await loadgen.run({ ...job(route, jars.get(route) ?? []), seconds })
      jars.set(route, warm.cookies)
      rate.set(route, warm.rps)
    }
    for (let pass = 1; pass <= settings.passes; pass++) {
      for (const route of target.routes) {
        const cookies = jars.get(route) ?? []
        const counting = route === '/counter' && target.library !== 'bare'
        const before = counting ? await sumCounters(base, cookies) : 0
        const amount = Math.max(500, Math.round((rate.get(route) ?? 1000) * settings.seconds))
        const cpuBefore = server.cpuMicros()
        const run = await loadgen.run({ ...job(route, cookies), amount })
        const cpu = server.cpuMicros() - cpuBefore
        jars.set(route, run.cookies)
        const answered = run.ok + run.non2xx
        const sample: Sample = {
          route,
          pass,
          requests: run.ok,
          non2xx: run.non2xx,
          errors: run.errors,
          rps: run.rps,
          p50Ms: run.p50Ms,
          p99Ms: run.p99Ms,
          cpuUsPerRequest: answered > 0 ? cpu / answered : Number.NaN,
        }
        if (counting) sample.lost = run.ok - ((await sumCounters(base, run.cookies)) - before)
        result.samples.push(sample)
      }
    }
    if (target.store === 'redis') {
      // Counted on a short extra run: MONITOR slows Redis, so never on a measured one.
      for (const route of target.routes) {
        const cookies = jars.get(route) ?? []
        let after = cookies
        const perRequest = await redisCommandsPerRequest(redisUrl, async () => {
          const run = await loadgen.run({ ...job(route, cookies), amount: 500 })
          after = run.cookies
          return run
        })
        jars.set(route, after)
        if (perRequest !== null) result.redisCommands = { ...result.redisCommands, [route]: perRequest }
      }
    }
    if (target.library !== 'bare') {
      const hot = await makeSessions(base, CONTENTION_SESSIONS)
      const before = await sumCounters(base, hot)
      const run = await loadgen.run({ ...job('/counter', hot), amount: CONTENTION_REQUESTS })
      const lost = run.ok - ((await sumCounters(base, run.cookies)) - before)
      result.contention = { sessions: CONTENTION_SESSIONS, requests: run.ok, lost }
    }
    result.rssBytes = server.rssBytes()
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error)
  } finally {
    await server.stop()
  }
  return result
}

function versionOf(name: string): string {
  for (const base of [new URL('./node_modules/', import.meta.url), new URL('../node_modules/', import.meta.url)]) {
    try {
      return (JSON.parse(readFileSync(new URL(`${name}/package.json`, base), 'utf8')) as { version: string }).version
    } catch {
      // not installed there: try the next folder
    }
  }
  return '?'
}

function describeMachine(loadAtStart: number): RunResults['machine'] {
  return {
    load: { start: loadAtStart, end: loadavg()[0] ?? Number.NaN },
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `Linux ${release()}`,
    node: process.version,
  }
}

const only = process.env['BENCH_ONLY'] === undefined ? null : new RegExp(process.env['BENCH_ONLY'])
const routes = process.env['BENCH_ROUTES']?.split(',').map((route) => route.trim())
// A comparison run (before/after a change) writes only its raw.json, leaving results/ and the README alone.
const out = process.env['BENCH_OUT'] === undefined ? resultsDir : fileURLToPath(new URL(`${process.env['BENCH_OUT']}/`, `file://${process.cwd()}/`))
const everything = allTargets().map((target) =>
  routes === undefined || target.library === 'bare' ? target : { ...target, routes: target.routes.filter((route) => routes.includes(route)) },
)
const chosen = everything.filter((target) => target.library !== 'bare' && (only === null || only.test(target.id)))
// A framework's bare server runs whenever anything on that framework does: costs are measured against it.
const targets = withVariants(everything.filter((target) => chosen.includes(target) || (target.library === 'bare' && chosen.some((c) => c.framework === target.framework))), process.env['BENCH_VARIANTS'])
const startedAt = new Date()
const loadAtStart = loadavg()[0] ?? Number.NaN
mkdirSync(out, { recursive: true })
console.log(`bench: ${targets.length} servers, ${settings.passes} passes × ${settings.seconds} s per route, ${settings.sessions} sessions, ${settings.connections} connections, ${settings.pinned ? 'server on core 0, load generator on core 1' : 'not pinned'}`)
const loadgen = startLoadGenerator(root, settings.pinned ? '1' : undefined)
const results: TargetResult[] = []
try {
  for (const [index, target] of targets.entries()) {
    const began = Date.now()
    const result = await measureTarget(target, loadgen)
    results.push(result)
    const summary = result.error ?? result.samples.filter((s) => s.pass === 1).map((s) => `${s.route} ${Math.round(s.rps)}/s ${s.cpuUsPerRequest.toFixed(1)}µs`).join(', ')
    console.log(`[${index + 1}/${targets.length}] ${target.id} (${((Date.now() - began) / 1000).toFixed(1)} s): ${summary}`)
  }
} finally {
  loadgen.stop()
}
const versions: Record<string, string> = {}
for (const name of ['hono', '@hono/node-server', 'express', 'fastify', 'koa', 'redis', 'pg', 'better-sqlite3', 'express-session', 'connect-redis', '@fastify/secure-session', '@fastify/session', 'iron-session', 'hono-sessions', 'koa-session', 'autocannon', 'mitata']) {
  versions[name] = versionOf(name)
}
versions['cloakroom'] = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
const run: RunResults = { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), settings, machine: describeMachine(loadAtStart), versions, results }
writeFileSync(`${out}raw.json`, JSON.stringify(run, null, 1) + '\n')
if (out !== resultsDir) {
  console.log(`bench: wrote ${out}raw.json; compare runs with tsx bench/costs.ts <raw.json>...`)
  process.exit(0)
}
if (process.env['BENCH_MICRO'] !== '0') {
  console.log('bench: micro benchmarks')
  await runMicro(root, settings.pinned ? '0' : undefined, resultsDir)
}
writeReport(resultsDir, root)
console.log(`bench: done in ${((Date.now() - startedAt.getTime()) / 60_000).toFixed(1)} min; see bench/results/results.md`)
