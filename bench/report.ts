/**
 * Turns `results/raw.json` (and `micro.json`, `soak.json` when present) into `results/results.md`,
 * `results/budgets.md`, `results/chart.svg`, and the README's performance section between
 * `<!-- bench:start -->` and `<!-- bench:end -->`: what a user compares, cloakroom against each peer
 * on the same framework. Run on its own as `tsx bench/report.ts` to regenerate without measuring.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { FRAMEWORKS, type Framework, type Route } from './matrix.js'
import { renderChart, type ChartRow } from './lib/chart.js'
import type { MicroResult } from './micro/index.js'
import type { RunResults, TargetResult } from './lib/results.js'
import { type RouteSummary, noiseOf, summarize } from './lib/stats.js'
import type { SoakResults } from './soak.js'

const ROUTES: Route[] = ['/counter', '/read', '/untouched', '/login']
const FRAMEWORK_NAMES: Record<Framework, string> = { node: 'node:http', hono: 'Hono', express: 'Express', fastify: 'Fastify', koa: 'Koa' }

const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '–')
const signed = (value: number): string => (Number.isFinite(value) ? `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}` : '–')
/** A cost, marked when its median is within the noise of its framework's bare server. */
const costText = (value: number, noise: number): string => (Math.abs(value) <= noise ? `${signed(value)} (within noise)` : signed(value))
const costCell = (s: RouteSummary | undefined, noise: number): string =>
  s === undefined ? '' : `${costText(s.costUs.median, noise)} <sub>[${signed(s.costUs.min)}, ${signed(s.costUs.max)}]</sub>`
/** The bare server's CPU per request, its [min, max] over the passes, and the noise that spread makes. */
const bareCell = (row: Row): string => {
  const cpu = row.routes['/counter']?.cpuUs
  return cpu === undefined ? '' : `${fmt(cpu.median, 1)} µs CPU <sub>[${fmt(cpu.min, 1)}, ${fmt(cpu.max, 1)}], noise ±${fmt(noiseOf(row.result), 1)}</sub>`
}
const label = (r: TargetResult): string => (r.target.library === 'bare' ? 'bare' : `${r.target.library} (${r.target.store})`)

interface Row {
  result: TargetResult
  bare: TargetResult | undefined
  routes: Partial<Record<Route, RouteSummary>>
}

function rowsOf(run: RunResults): Row[] {
  const bareOf = (framework: Framework) => run.results.find((r) => r.target.library === 'bare' && r.target.framework === framework)
  return run.results.map((result) => {
    const bare = bareOf(result.target.framework)
    const routes: Partial<Record<Route, RouteSummary>> = {}
    for (const route of ROUTES) {
      const summary = summarize(result, route, bare)
      if (summary !== undefined) routes[route] = summary
    }
    return { result, bare, routes }
  })
}

interface Verdict {
  budget: string
  measured: string
  met: boolean
}

function budgets(rows: Row[]): Verdict[] {
  const verdicts: Verdict[] = []
  const cloakroom = rows.filter((r) => r.result.target.library === 'cloakroom' && r.result.error === undefined)
  const check = (store: string, route: Route, limit: number, frameworks: readonly Framework[]) => {
    const hits = cloakroom.filter((r) => r.result.target.store === store && frameworks.includes(r.result.target.framework) && r.routes[route] !== undefined)
    if (hits.length === 0) return
    const measured = hits.map((r) => `${FRAMEWORK_NAMES[r.result.target.framework]} ${signed(r.routes[route]?.costUs.median ?? Number.NaN)}`)
    const where = frameworks.map((f) => FRAMEWORK_NAMES[f]).join(', ')
    verdicts.push({ budget: `${store} store on ${where}: ≤ +${limit} µs per ${route}`, measured: measured.join(', '), met: hits.every((r) => (r.routes[route]?.costUs.median ?? Infinity) <= limit) })
  }
  // The targets of the performance work: cost over the bare framework, medians of one run.
  check('cookie', '/counter', 6, ['node', 'hono', 'koa'])
  check('cookie', '/read', 2, ['node', 'hono', 'koa'])
  check('memory', '/counter', 4, ['node', 'hono', 'fastify', 'koa'])
  check('memory', '/read', 2, ['node', 'hono', 'fastify', 'koa'])
  check('memory', '/counter', 12, ['express'])
  check('memory', '/read', 8, ['express'])
  check('redis', '/counter', 35, ['node', 'fastify'])
  // On Fastify the bar is @fastify/secure-session's own cost in the same run.
  const secure = rows.find((r) => r.result.target.library === '@fastify/secure-session' && r.result.error === undefined)
  const ours = cloakroom.find((r) => r.result.target.framework === 'fastify' && r.result.target.store === 'cookie')
  for (const route of ['/counter', '/read'] as const) {
    const theirs = secure?.routes[route]?.costUs.median
    const mine = ours?.routes[route]?.costUs.median
    if (theirs === undefined || mine === undefined) continue
    verdicts.push({ budget: `cookie store on Fastify: at or below @fastify/secure-session per ${route}`, measured: `cloakroom ${signed(mine)}, @fastify/secure-session ${signed(theirs)}`, met: mine <= theirs })
  }
  const untouched = cloakroom.filter((r) => r.routes['/untouched'] !== undefined)
  if (untouched.length > 0) {
    const within = (r: Row) => Math.abs(r.routes['/untouched']?.costUs.median ?? Infinity) <= noiseOf(r.bare)
    const worst = untouched.reduce((a, b) => (Math.abs(b.routes['/untouched']?.costUs.median ?? 0) > Math.abs(a.routes['/untouched']?.costUs.median ?? 0) ? b : a))
    verdicts.push({
      budget: '/untouched within the noise of bare (the spread of bare over the passes, at least 1 µs)',
      measured: `worst: ${worst.result.target.id} ${signed(worst.routes['/untouched']?.costUs.median ?? Number.NaN)} (noise ±${fmt(noiseOf(worst.bare), 1)}); ${untouched.filter(within).length}/${untouched.length} within`,
      met: untouched.every(within),
    })
  }
  const redis = cloakroom.filter((r) => r.result.target.store === 'redis' && r.routes['/counter']?.redis !== undefined)
  if (redis.length > 0) {
    const perRequest = redis.map((r) => r.routes['/counter']?.redis ?? {})
    const describe = (counts: Record<string, number>) => Object.entries(counts).map(([name, n]) => `${name} ${n}`).join(' + ')
    const exact = perRequest.every((c) => Object.keys(c).length === 2 && Object.values(c).every((n) => Math.abs(n - 1) < 0.01))
    verdicts.push({ budget: 'Redis: exactly one read and one write command per /counter', measured: [...new Set(perRequest.map(describe))].join('; '), met: exact })
  }
  return verdicts
}

/** The peer → the cloakroom store it is compared with on the same framework. */
const COUNTERPART: Record<string, string> = { cookie: 'cookie', memory: 'memory', redis: 'redis' }

/** A cost at or under the noise floor makes a ratio meaningless: the divisor is at least 1 µs. */
const RATIO_FLOOR_US = 1

/**
 * cloakroom against each peer on the same framework and the same kind of store: the peer's cost over
 * bare divided by cloakroom's, per route (above 1×, cloakroom adds less), with both costs beside it.
 */
function comparisonTable(rows: Row[], withOwnVariants: boolean): string[] {
  const lines = [
    '| framework | peer (store) | cloakroom (store) | /counter: peer ÷ cloakroom | /read: peer ÷ cloakroom |',
    '|---|---|---|--:|--:|',
  ]
  for (const framework of FRAMEWORKS) {
    for (const row of rows) {
      const t = row.result.target
      if (t.framework !== framework || t.library === 'bare' || t.library === 'cloakroom' || row.result.error !== undefined) continue
      // cloakroom's own variants (its cookie cache off) belong in results.md, not in the README's comparison with peers.
      if (!withOwnVariants && t.library.startsWith('cloakroom')) continue
      const ours = rows.find(
        (r) => r.result.target.library === 'cloakroom' && r.result.target.framework === framework && r.result.target.store === COUNTERPART[t.store] && r.result.error === undefined,
      )
      if (ours === undefined) continue
      const cells = (['/counter', '/read'] as Route[]).map((route) => {
        const peer = row.routes[route]?.costUs.median ?? Number.NaN
        const mine = ours.routes[route]?.costUs.median ?? Number.NaN
        const noise = noiseOf(row.bare)
        return `**${fmt(peer / Math.max(RATIO_FLOOR_US, mine), 1)}×** <sub>${costText(peer, noise)} vs ${costText(mine, noise)} µs</sub>`
      })
      lines.push(`| ${FRAMEWORK_NAMES[framework]} | ${label(row.result)} | cloakroom (${ours.result.target.store}) | ${cells.join(' | ')} |`)
    }
  }
  return lines
}

const COMPARISON_NOTE =
  'Each ratio is the server CPU per request that the peer adds to the bare framework divided by what cloakroom adds, on the same framework ' +
  'with the same kind of store, medians of the passes (lower cost is better: **above 1×, cloakroom adds less**; a cost under ' +
  `${RATIO_FLOOR_US} µs counts as ${RATIO_FLOOR_US} µs). The small figures are the two costs.`

function detailTable(rows: Row[]): string[] {
  const lines = [
    '| framework | library (store) | route | req/s | p50 ms | p99 ms | server CPU µs/req | cost µs (CPU) [min, max] | cost µs (throughput) | lost writes |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ]
  for (const row of rows) {
    const t = row.result.target
    if (row.result.error !== undefined) {
      lines.push(`| ${FRAMEWORK_NAMES[t.framework]} | ${label(row.result)} | – | failed: ${row.result.error.split('\n')[0]} | | | | | | |`)
      continue
    }
    for (const route of ROUTES) {
      const s = row.routes[route]
      if (s === undefined) continue
      const lost = s.lost === undefined ? '' : `${s.lost} of ${s.requests}`
      const cost = t.library === 'bare' ? `0 (baseline; noise ±${fmt(noiseOf(row.result), 1)})` : costCell(s, noiseOf(row.bare))
      const tput = t.library === 'bare' ? '' : signed(s.throughputCostUs.median)
      const failures = s.failures > 0 ? ` (${s.failures} failed)` : ''
      lines.push(
        `| ${FRAMEWORK_NAMES[t.framework]} | ${label(row.result)} | ${t.library === 'bare' ? 'any' : route} | ${fmt(s.rps.median)}${failures} | ${fmt(s.p50Ms.median, 2)} | ${fmt(s.p99Ms.median, 2)} | ${fmt(s.cpuUs.median, 1)} | ${cost} | ${tput} | ${lost} |`,
      )
    }
  }
  return lines
}

function costTable(rows: Row[], framework: Framework): string[] {
  const lines = [
    `| ${FRAMEWORK_NAMES[framework]}: library (store) | /counter | /read | /untouched | /login | /counter req/s | lost writes, 8 hot sessions |`,
    '|---|--:|--:|--:|--:|--:|--:|',
  ]
  for (const row of rows.filter((r) => r.result.target.framework === framework)) {
    if (row.result.error !== undefined) {
      lines.push(`| ${label(row.result)} | failed | | | | | |`)
      continue
    }
    const isBare = row.result.target.library === 'bare'
    const c = row.result.contention
    const cell = (route: Route) => (isBare ? (route === '/counter' ? bareCell(row) : '') : costCell(row.routes[route], noiseOf(row.bare)))
    lines.push(
      `| ${label(row.result)} | ${cell('/counter')} | ${cell('/read')} | ${cell('/untouched')} | ${cell('/login')} | ${fmt(row.routes['/counter']?.rps.median ?? Number.NaN)} | ${c === undefined ? '' : `${c.lost} of ${c.requests} (${fmt((100 * c.lost) / Math.max(1, c.requests))} %)`} |`,
    )
  }
  return lines
}

function chartRows(rows: Row[]): ChartRow[] {
  return rows
    .filter((r) => r.result.target.library !== 'bare' && r.result.error === undefined)
    .map((r) => ({
      group: FRAMEWORK_NAMES[r.result.target.framework],
      label: `${r.result.target.library} (${r.result.target.store})`,
      highlight: r.result.target.library === 'cloakroom',
      values: [r.routes['/counter']?.costUs.median ?? Number.NaN, r.routes['/read']?.costUs.median ?? Number.NaN],
    }))
}

/** How busy the machine was, and how much the bare servers' CPU per request moved between passes. */
function noiseLine(run: RunResults, rows: Row[]): string {
  const load = run.machine.load
  const busy = load === undefined ? '' : `Load average (1 min) ${fmt(load.start, 1)} at the start and ${fmt(load.end, 1)} at the end, on ${run.machine.cores} cores. `
  const bares = rows.filter((r) => r.result.target.library === 'bare' && r.result.error === undefined)
  const spreads = bares.map((r) => `${FRAMEWORK_NAMES[r.result.target.framework]} ±${fmt(noiseOf(r.result), 1)} µs`).join(', ')
  return (
    `${busy}**Noise**: the spread (max − min) of each bare server's CPU µs per request over the passes, at least 1 µs: ${spreads || 'no bare server ran'}. ` +
    'A cost whose median is within its framework\'s noise is marked "(within noise)": it cannot be told from zero in this run.'
  )
}

function header(run: RunResults, rows: Row[]): string[] {
  const m = run.machine
  const s = run.settings
  const peerVersions = Object.entries(run.versions).map(([name, version]) => `${name} ${version}`).join(', ')
  return [
    `Measured ${run.startedAt.slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}, Node ${m.node}.`,
    '',
    noiseLine(run, rows),
    '',
    `${s.pinned ? 'Server pinned to core 0 and the load generator (autocannon) to core 1 with taskset' : 'Server and load generator not pinned (no taskset)'}; ` +
      `Redis and PostgreSQL on the same machine, unpinned. ${s.connections} connections, ${s.passes} passes of ${s.seconds} s per route after a ${s.warmupSeconds} s warm-up; ` +
      `each request carries the next of ${s.sessions} distinct session cookies made before the run, and the client keeps whatever cookie a response sets, as a browser would.`,
    '',
    `Versions: ${peerVersions}.`,
    '',
    '**Cost** is the server\'s CPU time per request (user + system, all threads, from /proc) minus the bare framework\'s in the same run: ' +
      'the work a library adds at throughput, not round-trip latency, and unaffected by whether the load generator or the server saturates first. ' +
      'Medians of the passes, [min, max] of the passes beside them. "Cost (throughput)" is 1/req·s⁻¹ − 1/req·s⁻¹(bare), comparable only where the server core is the bottleneck. ' +
      '**Lost writes** are `/counter` answers (2xx) whose increment is missing when every session\'s counter is read back afterwards.',
    '',
    'Same route semantics everywhere: `/counter` reads a number and writes it plus one, `/read` reads it, `/untouched` mounts the middleware and never reads, ' +
      '`/login` sets a user and renews the id (server stores only). Every peer is configured as its README recommends for production, except that `Secure` ' +
      'is off on every library\'s cookie because the benchmark speaks plain HTTP on loopback. iron-session has no middleware: its `/untouched` route simply never calls `getIronSession`.',
  ]
}

/**
 * Writes `results.md`, `chart.svg` and the README section from the results in `resultsDir`.
 *
 * @example
 * ```ts
 * writeReport('bench/results/', '.')
 * ```
 */
export function writeReport(resultsDir: string, root: string): void {
  const run = JSON.parse(readFileSync(`${resultsDir}raw.json`, 'utf8')) as RunResults
  const rows = rowsOf(run)
  const verdicts = budgets(rows)
  const micro = existsSync(`${resultsDir}micro.json`) ? (JSON.parse(readFileSync(`${resultsDir}micro.json`, 'utf8')) as MicroResult[]) : []
  const soak = existsSync(`${resultsDir}soak.json`) ? (JSON.parse(readFileSync(`${resultsDir}soak.json`, 'utf8')) as SoakResults) : undefined
  writeFileSync(`${resultsDir}chart.svg`, renderChart(chartRows(rows), ['/counter', '/read'], 'µs of server CPU per request over the bare framework (log scale)'))

  const comparison = comparisonTable(rows, true)
  const microLines = ['| micro benchmark | mean | p50 | p99 |', '|---|--:|--:|--:|', ...micro.map((m) => `| ${m.name} | ${nanos(m.avgNs)} | ${nanos(m.p50Ns)} | ${nanos(m.p99Ns)} |`)]
  const soakLines = soak === undefined ? ['No soak in this run (`tsx bench/soak.ts`).'] : soakSummary(soak)
  const md = [
    '# Benchmark results',
    '',
    ...header(run, rows),
    '',
    '![cost over bare per request](chart.svg)',
    '',
    'The project\'s own cost budgets, and whether this run met them: [budgets.md](budgets.md).',
    '',
    '## cloakroom against each peer on the same framework',
    '',
    COMPARISON_NOTE,
    '',
    ...comparison,
    '',
    '## Cost over bare, per framework (µs of server CPU per request)',
    '',
    ...FRAMEWORKS.flatMap((f) => [...costTable(rows, f), '']),
    '"lost writes, 8 hot sessions": 3,000 `/counter` requests from 32 connections over only 8 sessions, so requests on one session overlap. ' +
      'Every library here, cloakroom included, keeps the last write of one key (cloakroom merges writes of different keys; a counter is one key), and a cookie store keeps whichever cookie the client received last.',
    '',
    '## Every measurement',
    '',
    ...detailTable(rows),
    '',
    '## Redis commands per request',
    '',
    ...redisLines(rows),
    '',
    '## Micro benchmarks (mitata, one core)',
    '',
    ...microLines,
    '',
    '## Memory soak (memory store)',
    '',
    ...soakLines,
    '',
  ].join('\n')
  writeFileSync(`${resultsDir}results.md`, md)
  writeFileSync(`${resultsDir}budgets.md`, budgetsFile(run, verdicts))
  updateReadme(`${root}/README.md`, readmeSection(run, rows, comparisonTable(rows, false), soak))
}

// The budgets steer the work on cloakroom itself; a user compares with the peers, so they live here
// rather than in the README.
function budgetsFile(run: RunResults, verdicts: Verdict[]): string {
  return [
    '# Performance budgets',
    '',
    'What cloakroom may add to a bare framework, in µs of server CPU per request (median over the passes), and whether ' +
      `the run of ${run.startedAt.slice(0, 10)} met each budget. These targets steer the work on cloakroom; how it compares with ` +
      'the peers is in the [README](../../README.md#performance) and [results.md](results.md), and how the costs are measured in results.md.',
    '',
    '| budget | measured (median cost over bare) | met |',
    '|---|---|---|',
    ...verdicts.map((v) => `| ${v.budget} | ${v.measured} | ${v.met ? 'yes' : '**no**'} |`),
    '',
    'Where the time goes for a budget not met (`node --cpu-prof` under the same load, `bench/profile.ts`): [profiles.md](profiles.md).',
    '',
  ].join('\n')
}

function nanos(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`
}

function redisLines(rows: Row[]): string[] {
  const lines = ['| server | route | commands per request |', '|---|---|---|']
  for (const row of rows.filter((r) => r.result.target.store === 'redis')) {
    for (const route of ROUTES) {
      const counts = row.routes[route]?.redis
      if (counts === undefined) continue
      const text = Object.entries(counts).map(([name, n]) => `${name} ×${n}`).join(', ') || 'none'
      lines.push(`| ${row.result.target.id} | ${route} | ${text} |`)
    }
  }
  lines.push('', 'Counted with Redis `MONITOR` on a short extra run of 500 requests per route (never during a measured run), commands naming the bench key prefix only; commands that a Lua script runs inside Redis are not client commands and are left out (an `EVALSHA` counts once).')
  return lines
}

function soakSummary(soak: SoakResults): string[] {
  return [
    `${soak.sessions.toLocaleString('en-US')} distinct sessions created over ${fmt(soak.seconds)} s against the memory store bounded to ` +
      `${soak.maxEntries.toLocaleString('en-US')} entries and ${fmt(soak.maxBytes / 2 ** 20)} MiB; resident memory peaked at ${fmt(soak.peakRssMiB)} MiB ` +
      `(${fmt(soak.baselineRssMiB)} MiB before the first session; V8's heap grows past the store's own count of data bytes and shrinks again after collections). ` +
      `Held at the end: ${soak.finalEntries.toLocaleString('en-US')} records, ${fmt(soak.finalBytes / 2 ** 20, 1)} MiB of session data, within the bound.`,
    '',
    '![resident memory over time](soak.svg)',
  ]
}

function readmeSection(run: RunResults, rows: Row[], comparison: string[], soak: SoakResults | undefined): string {
  const m = run.machine
  return [
    `Measured by \`npm run bench\` (see [bench/](bench/README.md)) on ${run.startedAt.slice(0, 10)}: ${m.cpu}, ${m.cores} cores, Node ${m.node}; ` +
      `${run.settings.sessions} distinct sessions rotated by the load generator, ${run.settings.connections} connections, medians of ${run.settings.passes} passes. ` +
      '`/counter` reads a number and writes it back plus one, `/read` only reads it. ' +
      COMPARISON_NOTE +
      ' `Secure` is off on every library\'s cookie because the benchmark speaks plain HTTP.',
    '',
    noiseLine(run, rows),
    '',
    '![cost over bare per request](bench/results/chart.svg)',
    '',
    ...comparison,
    '',
    'Every measurement (PostgreSQL and SQLite, `/untouched` and `/login`, latencies, spreads, lost writes): ' +
      '[bench/results/results.md](bench/results/results.md); the project\'s own cost budgets: [bench/results/budgets.md](bench/results/budgets.md).',
    ...(soak === undefined ? [] : ['', ...soakSummary(soak).map((line) => line.replace('(soak.svg)', '(bench/results/soak.svg)'))]),
  ].join('\n')
}

/**
 * Replaces what lies between the README's bench markers, and nothing else.
 *
 * @example
 * ```ts
 * updateReadme('README.md', 'the new section')
 * ```
 */
export function updateReadme(file: string, section: string): void {
  const text = readFileSync(file, 'utf8')
  const start = '<!-- bench:start -->'
  const end = '<!-- bench:end -->'
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from === -1 || to < from) throw new Error(`${file} has no ${start} … ${end} markers`)
  writeFileSync(file, `${text.slice(0, from + start.length)}\n${section}\n${text.slice(to)}`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeReport(fileURLToPath(new URL('./results/', import.meta.url)), fileURLToPath(new URL('..', import.meta.url)))
}
