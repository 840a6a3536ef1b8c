/**
 * One seal and one open through WebCrypto in workerd, beside the same through node:crypto and
 * through WebCrypto in Node: `tsx bench/micro/webcrypto.ts [out.json]`. The very same loop
 * (`crypto-ops.ts`) runs in each; keys are derived and imported once. Measured as CPU time of the
 * process that does the work (all its threads, from `/proc/<pid>/task/* /schedstat`, nanoseconds),
 * in rounds that interleave the runtimes, medians reported with the spread of the rounds. workerd's
 * own clocks stand still while a request computes, so its CPU is read from outside, per request,
 * less the CPU of an empty request of the same round.
 *
 * Needs the runtime package (`npm --prefix test/runtimes ci`); without it only the Node columns run.
 *
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { cryptoProvider as nodeProvider } from '../../src/crypto/node.js'
import { cryptoProvider as webProvider } from '../../src/crypto/web.js'
import { loadMiniflare, runtimePackageMissing } from '../../test/runtimes/runtime-package.js'
import { spread, type Spread } from '../lib/stats.js'
import { CRYPTO_OPS, cryptoFixture, runCryptoOp, type CryptoOp } from './crypto-ops.js'

/** One (runtime, operation): nanoseconds of CPU per operation over the rounds. */
export interface WebCryptoResult {
  runtime: 'node:crypto' | 'WebCrypto (Node)' | 'WebCrypto (workerd)'
  op: CryptoOp
  ns: Spread
}

const ROUNDS = Number(process.env['WEBCRYPTO_ROUNDS'] ?? 7)
const N = Number(process.env['WEBCRYPTO_N'] ?? 4000)

/** CPU time of every thread of `pid` so far, in nanoseconds. */
function cpuNs(pid: number | 'self'): number {
  let total = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // A thread that ended between the listing and the read: its time is in no later sample either.
    }
  }
  return total
}

/** The workerd process miniflare started: a child of this process whose command is workerd. */
function workerdPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const ppid = Number(stat.slice(close + 2).split(' ')[1])
      if (ppid === process.pid && comm.includes('workerd')) return Number(entry)
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error('the workerd process was not found among this process’s children')
}

async function startWorker(): Promise<{ run(op: CryptoOp | 'none', n: number): Promise<number>; dispose(): Promise<void> } | undefined> {
  const missing = runtimePackageMissing()
  if (missing !== undefined) {
    console.warn(`\n!!!!! webcrypto micro: skipping workerd: ${missing} !!!!!\n`)
    return undefined
  }
  const dir = fileURLToPath(new URL('../.work/webcrypto/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const file = `${dir}worker.mjs`
  await build({
    entryPoints: [fileURLToPath(new URL('./webcrypto-worker.ts', import.meta.url))],
    outfile: file,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    logLevel: 'silent',
  })
  const Miniflare = await loadMiniflare()
  const miniflare = new Miniflare({ modules: true, scriptPath: file, modulesRoot: dirname(file), compatibilityDate: '2024-09-23' })
  await miniflare.ready
  const pid = workerdPid()
  const request = async (op: string, n: number): Promise<number> => {
    const before = cpuNs(pid)
    const response = await miniflare.dispatchFetch(`http://worker/?op=${encodeURIComponent(op)}&n=${n}`)
    const body = await response.text()
    if (!response.ok) throw new Error(`workerd answered ${response.status}: ${body.slice(0, 2000)}`)
    return cpuNs(pid) - before
  }
  return {
    async run(op, n) {
      // The empty request of the same moment is the overhead to take away.
      const empty = await request('seal', 0)
      return (await request(op, n)) - empty
    },
    dispose: () => miniflare.dispose(),
  }
}

const worker = await startWorker()
const fixtures = { 'node:crypto': await cryptoFixture(nodeProvider), 'WebCrypto (Node)': await cryptoFixture(webProvider) }
const samples = new Map<string, number[]>()
const add = (runtime: WebCryptoResult['runtime'], op: CryptoOp, nsPerOp: number): void => {
  const key = `${runtime}\u0000${op}`
  samples.set(key, [...(samples.get(key) ?? []), nsPerOp])
}
try {
  // A warm-up round first, thrown away, so the JIT has settled everywhere before anything counts.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const op of CRYPTO_OPS) {
      for (const [runtime, fixture] of Object.entries(fixtures) as [WebCryptoResult['runtime'], (typeof fixtures)['node:crypto']][]) {
        const before = cpuNs('self')
        await runCryptoOp(fixture, op, N)
        if (round > 0) add(runtime, op, (cpuNs('self') - before) / N)
      }
      if (worker !== undefined) {
        const ns = await worker.run(op, N)
        if (round > 0) add('WebCrypto (workerd)', op, ns / N)
      }
    }
  }
} finally {
  await worker?.dispose()
}
const results: WebCryptoResult[] = [...samples].map(([key, values]) => {
  const [runtime, op] = key.split('\u0000') as [WebCryptoResult['runtime'], CryptoOp]
  return { runtime, op, ns: spread(values) }
})
for (const r of results) {
  console.log(`${r.runtime.padEnd(20)} ${r.op.padEnd(14)} ${(r.ns.median / 1000).toFixed(2).padStart(7)} µs  [${(r.ns.min / 1000).toFixed(2)}, ${(r.ns.max / 1000).toFixed(2)}]`)
}
if (process.argv[2] !== undefined) writeFileSync(process.argv[2], JSON.stringify(results, null, 1) + '\n')
