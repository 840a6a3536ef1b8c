/**
 * `npx tsx bench/path.ts`: the request-path benchmark. Every chosen server of `matrix.ts` (and of
 * the checkouts named in `BENCH_VARIANTS`) runs in its own process and is handed requests
 * in-process (light-my-request: no sockets, no load generator), timed with `process.cpuUsage()`.
 * The servers take turns, round after round, and the cost of each is its CPU µs per request minus
 * its bare framework's in the same round; the median over the rounds is reported with its spread.
 *
 * It measures what cloakroom adds to a framework's own JavaScript, and nothing of the kernel's
 * socket work, so it does not replace `run.ts`; it answers "did this change pay" on a busy
 * machine, where the load benchmark's CPU per request moves with how often the server gets its
 * core (fewer requests per wake-up cost more each).
 *
 * Settings: BENCH_ONLY and BENCH_VARIANTS as for run.ts, BENCH_ROUTES [/counter,/read,/untouched],
 * PATH_ROUNDS [7], PATH_REQUESTS per turn [4000], PATH_CONCURRENCY [8], PATH_OUT (a JSON file to
 * write the per-round costs to).
 *
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { allTargets, type Target } from './matrix.js'
import { freePort } from './lib/host.js'
import type { PathJob, PathResult } from './lib/path-child.js'
import { spread } from './lib/stats.js'
import { withVariants } from './lib/variants.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const numberFrom = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  return Number.isFinite(value) && value > 0 ? value : fallback
}
const rounds = numberFrom('PATH_ROUNDS', 7)
const amount = numberFrom('PATH_REQUESTS', 4000)
const concurrency = numberFrom('PATH_CONCURRENCY', 8)
const routes = (process.env['BENCH_ROUTES'] ?? '/counter,/read,/untouched').split(',').map((r) => r.trim())
const only = process.env['BENCH_ONLY'] === undefined ? null : new RegExp(process.env['BENCH_ONLY'])

interface Child {
  target: Target
  process: ChildProcessWithoutNullStreams
  lines: AsyncIterator<string>
  reader: Interface
}

async function start(target: Target): Promise<Child> {
  const file = target.file.startsWith('/') ? target.file : `${root}${target.file}`
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lib/path-child.ts', import.meta.url)), file], {
    cwd: root,
    env: { ...process.env, ...target.env, PORT: String(await freePort()), NODE_ENV: 'production' },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const reader = createInterface({ input: child.stdout })
  const lines = reader[Symbol.asyncIterator]()
  for (;;) {
    const line = await lines.next()
    if (line.done) throw new Error(`${target.id} exited before it was ready`)
    if (line.value === 'child-ready') break
  }
  return { target, process: child, lines, reader }
}

async function ask(child: Child, job: PathJob): Promise<PathResult> {
  child.process.stdin.write(JSON.stringify(job) + '\n')
  let line = await child.lines.next()
  // The server's own `ready` (printed when it listens, which nothing here uses) may come in between.
  while (!line.done && line.value === 'ready') line = await child.lines.next()
  if (line.done) throw new Error(`${child.target.id} exited`)
  const answer = JSON.parse(line.value) as PathResult & { error?: string }
  if (answer.error !== undefined) throw new Error(`${child.target.id}: ${answer.error}`)
  return answer
}

/**
 * Instructions per request under callgrind, for a machine too busy for CPU time to mean much:
 * one process per server, each route warmed with `warm` requests and then `amount` measured ones
 * between two calls of `process.constrainedMemory()`, where callgrind dumps its counters
 * (`--dump-before=uv_get_constrained_memory`). Deterministic enough to compare builds to 1 %.
 */
async function instructions(target: Target, warm: number, measured: number): Promise<Map<string, number>> {
  const dir = mkdtempSync(`${tmpdir()}/cloakroom-cg-`)
  const file = target.file.startsWith('/') ? target.file : `${root}${target.file}`
  const own = target.library === 'bare' ? [routes[0] as string] : routes
  const jobs = own.flatMap((route) => [
    { route: target.library === 'bare' ? '/counter' : route, amount: warm, concurrency },
    { route: target.library === 'bare' ? '/counter' : route, amount: measured, concurrency, measure: true },
  ])
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--dump-before=uv_get_constrained_memory', `--callgrind-out-file=${dir}/cg`, process.execPath, '--single-threaded', '--import', 'tsx', fileURLToPath(new URL('./lib/path-child.ts', import.meta.url)), file],
    { cwd: root, env: { ...process.env, ...target.env, PORT: String(await freePort()), NODE_ENV: 'production', PATH_JOBS: JSON.stringify(jobs) }, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr = (stderr + chunk).slice(-4000)))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`${target.id} under callgrind exited with ${String(code)}: ${stderr}`)
  const totals = readdirSync(dir)
    .filter((name) => /^cg\.\d+$/.test(name))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((name) => Number(/^totals: (\d+)/m.exec(readFileSync(`${dir}/${name}`, 'utf8'))?.[1] ?? Number.NaN))
    // A call can dump twice (its PLT stub has the function's name too): the part between is a few
    // instructions (tens of thousands on the first call, the lazy binding), never a job of requests.
    .filter((total) => total >= 1_000_000)
  rmSync(dir, { recursive: true, force: true })
  // The numbered parts end …, warm, measured, warm, measured (the rest, up to the exit, is the
  // unnumbered last dump): counting back from the last measured job.
  const result = new Map<string, number>()
  own.forEach((route, i) => result.set(route, (totals[totals.length - 1 - 2 * (own.length - 1 - i)] ?? Number.NaN) / measured))
  process.stderr.write(`${target.id}: parts ${totals.join(' ')}\n`)
  return result
}

if (process.env['PATH_CALLGRIND'] === '1') {
  const everything = allTargets()
  const chosen = everything.filter((t) => t.library !== 'bare' && (only === null || only.test(t.id)))
  const targets = withVariants(
    everything.filter((t) => chosen.includes(t) || (t.library === 'bare' && chosen.some((c) => c.framework === t.framework))),
    process.env['BENCH_VARIANTS'],
  )
  const warm = numberFrom('PATH_WARM', 3000)
  const measured = numberFrom('PATH_REQUESTS', 1000)
  const results = new Map<string, Map<string, number>>()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const target = targets[next++] as Target
      results.set(target.id, await instructions(target, warm, measured))
      process.stderr.write(`${target.id}: ${[...(results.get(target.id) ?? [])].map(([r, v]) => `${r} ${Math.round(v)}`).join(', ')}\n`)
    }
  }
  await Promise.all(Array.from({ length: numberFrom('PATH_PARALLEL', 2) }, worker))
  const report: Record<string, Record<string, number>> = {}
  console.log(`request path under callgrind: ${warm} warm-up and ${measured} measured requests per route, ${concurrency} at a time`)
  console.log('| server | route | instructions/request | over bare |')
  console.log('|---|---|--:|--:|')
  for (const target of targets) {
    const bare = results.get(`bare/${target.framework}`)?.get(routes[0] as string) ?? Number.NaN
    for (const [route, value] of results.get(target.id) ?? []) {
      ;(report[target.id] ??= {})[route] = value
      if (target.library === 'bare') console.log(`| ${target.id} | any | ${Math.round(value)} | |`)
      else console.log(`| ${target.id} | ${route} | ${Math.round(value)} | +${Math.round(value - bare)} |`)
    }
  }
  if (process.env['PATH_OUT'] !== undefined) writeFileSync(process.env['PATH_OUT'], JSON.stringify(report, null, 1) + '\n')
  process.exit(0)
}

const everything = allTargets()
const chosen = everything.filter((t) => t.library !== 'bare' && (only === null || only.test(t.id)))
const targets = withVariants(
  everything.filter((t) => chosen.includes(t) || (t.library === 'bare' && chosen.some((c) => c.framework === t.framework))),
  process.env['BENCH_VARIANTS'],
)
const children: Child[] = []
for (const target of targets) children.push(await start(target))
// cpu[id][route] = one value per round
const cpu = new Map<string, Map<string, number[]>>()
try {
  for (const child of children) for (const route of routes) await ask(child, { route, amount: Math.round(amount / 2), concurrency })
  for (let round = 0; round < rounds; round++) {
    for (const route of routes) {
      // A different order each round, so no server always follows the same one.
      const order = children.map((c, i) => children[(i + round) % children.length] as Child)
      for (const child of order) {
        if (child.target.library === 'bare' && route !== routes[0]) continue
        const result = await ask(child, { route: child.target.library === 'bare' ? '/counter' : route, amount, concurrency })
        if (result.non2xx > 0) throw new Error(`${child.target.id} ${route}: ${result.non2xx} answers were not 2xx`)
        const byRoute = cpu.get(child.target.id) ?? new Map<string, number[]>()
        byRoute.set(route, [...(byRoute.get(route) ?? []), result.cpuUsPerRequest])
        cpu.set(child.target.id, byRoute)
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds}\n`)
  }
} finally {
  for (const child of children) child.process.kill()
}

function quantile(values: readonly number[], q: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number)
}
const us = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`
const report: Record<string, Record<string, { costs: number[]; median: number; min: number; max: number }>> = {}
console.log(`request path, in-process: ${rounds} rounds × ${amount} requests, ${concurrency} at a time; cost = CPU µs/request − bare's in the same round`)
console.log('| server | route | bare µs (p20) | cost µs, median [min, max] | p20 − bare p20 |')
console.log('|---|---|--:|--:|--:|')
for (const child of children) {
  const { target } = child
  if (target.library === 'bare') continue
  const bare = cpu.get(`bare/${target.framework}`)?.get(routes[0] as string) ?? []
  for (const route of routes) {
    const own = cpu.get(target.id)?.get(route) ?? []
    const costs = own.map((value, i) => value - (bare[i] ?? Number.NaN))
    const s = spread(costs)
    ;(report[target.id] ??= {})[route] = { costs, ...s }
    // On a shared machine time only ever gets added to a turn: the low quantiles are the least disturbed.
    const low = quantile(own, 0.2) - quantile(bare, 0.2)
    console.log(`| ${target.id} | ${route} | ${quantile(bare, 0.2).toFixed(1)} | ${us(s.median)} [${us(s.min)}, ${us(s.max)}] | ${us(low)} |`)
  }
}
if (process.env['PATH_OUT'] !== undefined) writeFileSync(process.env['PATH_OUT'], JSON.stringify(report, null, 1) + '\n')
