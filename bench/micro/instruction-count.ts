/**
 * Instructions per request of the cases of `feature-cost.ts`, counted by valgrind's callgrind: the
 * count does not move with the machine's load, so small differences show on a busy machine. All
 * cases run in one process under callgrind: each is warmed up, then the cases take turns in
 * batches, and callgrind dumps its counters between batches (the script calls
 * `process.constrainedMemory()`, and callgrind runs with `--dump-before=uv_get_constrained_memory`),
 * so each batch is counted alone and start-up is left out. Node runs with `--single-threaded`: the
 * JIT compiles and the GC collects on the main thread, so the count includes them and does not
 * depend on thread timing.
 *
 * ```sh
 * npm run build && npx tsx bench/micro/instruction-count.ts [--base <commit>] [out.md]
 * ```
 *
 * `BENCH_CASES` (a regular expression on "group: row") picks cases; `BENCH_ROUNDS` (3) batches of
 * `BENCH_BATCH` (200) requests per case, after `BENCH_WARMUP` (1,000) warm-up requests each.
 *
 * @module
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { DEFAULT_BASE, makeCases } from './feature-cost.js'

const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 1000)

/** Under callgrind: warms every case, then runs the batches, a counter dump after each. */
async function child(base: string, only: string, rounds: number, batch: number): Promise<void> {
  const { cases, notes } = await makeCases(base, new RegExp(only))
  for (const c of cases) for (let i = 0; i < WARMUP; i++) await c.request()
  const order: string[] = []
  process.constrainedMemory()
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      for (let i = 0; i < batch; i++) await c.request()
      process.constrainedMemory()
      order.push(c.id)
    }
  }
  process.stdout.write(JSON.stringify({ order, notes, groups: cases.map((c) => [c.id, c.group, c.row]) }))
}

/** The instruction counts of the dumps, in order (the last, at exit, excluded). */
function dumps(dir: string): number[] {
  const parts = readdirSync(dir)
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .filter((text) => text.includes('Trigger: --dump-before'))
    .map((text) => ({ part: Number(/^part: (\d+)/m.exec(text)?.[1]), total: Number(/^totals: (\d+)/m.exec(text)?.[1]) }))
  return parts.sort((a, b) => a.part - b.part).map((p) => p.total)
}

const args = process.argv.slice(2)
if (args[0] === '--child') {
  await child(args[1] as string, args[2] as string, Number(args[3]), Number(args[4]))
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const baseAt = args.indexOf('--base')
  const base = baseAt >= 0 ? (args.splice(baseAt, 2)[1] ?? DEFAULT_BASE) : DEFAULT_BASE
  const out = args.find((arg) => !arg.startsWith('--'))
  const only = process.env['BENCH_CASES'] ?? ''
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3)
  const batch = Number(process.env['BENCH_BATCH'] ?? 200)
  await makeCases(base, /^$/) // builds the base first, outside callgrind
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-instructions-'))
  const valgrind = ['--tool=callgrind', '--dump-before=uv_get_constrained_memory', `--callgrind-out-file=${join(dir, 'cg')}`]
  const node = [process.execPath, '--single-threaded', '--import', 'tsx', import.meta.filename, '--child', base, only, String(rounds), String(batch)]
  const { stdout } = await promisify(execFile)('valgrind', [...valgrind, ...node], { maxBuffer: 1 << 26 })
  const { order, notes, groups } = JSON.parse(stdout) as { order: string[]; notes: string[]; groups: [string, string, string][] }
  const counts = dumps(dir).slice(-order.length)
  rmSync(dir, { recursive: true, force: true })
  const perCase = new Map<string, number[]>()
  order.forEach((id, i) => perCase.set(id, [...(perCase.get(id) ?? []), (counts[i] as number) / batch]))
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] as number
  const rows: string[] = []
  let group = ''
  let first = 0
  for (const [id, groupName, row] of groups) {
    const values = perCase.get(id) ?? []
    if (groupName !== group) {
      group = groupName
      first = median(values)
      rows.push('', `### ${group}`, '', '| row | instructions/request (median) | each batch | × first row |', '|---|---:|---:|---:|')
    }
    const fmt = (n: number): string => Math.round(n).toLocaleString('en')
    rows.push(`| ${row} | ${fmt(median(values))} | ${values.map(fmt).join(', ')} | ${(median(values) / first).toFixed(3)} |`)
  }
  const text = [
    `Instructions per request (callgrind, node --single-threaded; ${WARMUP} warm-up requests per case, then ${rounds} interleaved batches of ${batch}),`,
    `in-process begin, route, commit. Base build: ${base.slice(0, 10)}. ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    ...rows,
    '',
    ...notes.map((note) => `- ${note}`),
    '',
  ].join('\n')
  console.log(text)
  if (out !== undefined) writeFileSync(out, text)
}
