/**
 * Instructions per request of the cases of `feature-cost.ts`, counted by valgrind's callgrind: the
 * count does not move with the machine's load, so small differences show on a busy machine. Each
 * case runs in a process of its own, twice: a warm-up then `small` requests, and the same warm-up
 * then `large` requests; the difference of the two counts divided by `large − small` is the cost
 * of one request, start-up and warm-up cancelled out. Node runs with `--single-threaded` so the
 * JIT compiles on the main thread, at the same points in both runs.
 *
 * ```sh
 * npm run build && npx tsx bench/micro/instruction-count.ts [--base <commit>] [out.md]
 * ```
 *
 * `BENCH_CASES` (a regular expression on "group: row") picks cases, `BENCH_REPEAT` (1) repeats
 * each measurement to show how much it moves.
 *
 * @module
 */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { DEFAULT_BASE, makeCases } from './feature-cost.js'

const WARMUP = 2000
const SMALL = 500
const LARGE = 2500
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function child(base: string, id: string, requests: number): Promise<void> {
  const { cases } = await makeCases(base, new RegExp(`^${escape(id)}$`))
  const only = cases[0]
  if (only === undefined) throw new Error(`no case ${id}`)
  for (let i = 0; i < WARMUP; i++) await only.request()
  for (let i = 0; i < requests; i++) await only.request()
}

async function count(base: string, id: string, requests: number): Promise<number> {
  const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', '--import', 'tsx', import.meta.filename, '--child', base, id, String(requests)]
  const { stderr } = await promisify(execFile)('valgrind', args, { maxBuffer: 1 << 24 })
  const match = /Collected : (\d+)/.exec(stderr)
  if (match === null) throw new Error(`callgrind gave no count for ${id}:\n${stderr}`)
  return Number(match[1])
}

const args = process.argv.slice(2)
if (args[0] === '--child') {
  await child(args[1] as string, args[2] as string, Number(args[3]))
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const baseAt = args.indexOf('--base')
  const base = baseAt >= 0 ? (args.splice(baseAt, 2)[1] ?? DEFAULT_BASE) : DEFAULT_BASE
  const out = args.find((arg) => !arg.startsWith('--'))
  const only = process.env['BENCH_CASES'] ? new RegExp(process.env['BENCH_CASES']) : undefined
  const repeat = Number(process.env['BENCH_REPEAT'] ?? 1)
  const { cases, notes } = await makeCases(base, only)
  const rows: string[] = []
  let group = ''
  let first = 0
  for (const c of cases) {
    const perRequest: number[] = []
    for (let r = 0; r < repeat; r++) {
      const [small, large] = await Promise.all([count(base, c.id, SMALL), count(base, c.id, LARGE)])
      perRequest.push((large - small) / (LARGE - SMALL))
    }
    const mean = perRequest.reduce((a, b) => a + b, 0) / perRequest.length
    if (c.group !== group) {
      group = c.group
      first = mean
      rows.push('', `### ${group}`, '', '| row | instructions/request | each measurement | × first row |', '|---|---:|---:|---:|')
    }
    rows.push(`| ${c.row} | ${Math.round(mean).toLocaleString('en')} | ${perRequest.map((n) => Math.round(n).toLocaleString('en')).join(', ')} | ${(mean / first).toFixed(3)} |`)
    console.log(`${c.id}: ${Math.round(mean)}`)
  }
  const text = [
    `Instructions per request (callgrind; warm-up ${WARMUP}, then ${LARGE} − ${SMALL} requests), in-process begin, route, commit.`,
    `Base build: ${base.slice(0, 10)}. ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    ...rows,
    '',
    ...notes.map((note) => `- ${note}`),
    '',
  ].join('\n')
  console.log(text)
  if (out !== undefined) writeFileSync(out, text)
}
