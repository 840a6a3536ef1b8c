/**
 * `tsx bench/costs.ts <raw.json>...`: the cost over bare (server CPU µs per request) of every
 * (server, route) in one or more runs written with `BENCH_OUT`, as a markdown table: each run's
 * median over its passes, then the median of those. Several short runs, interleaved before and
 * after a change, say more on a shared machine than one long run.
 *
 * ```sh
 * BENCH_ONLY='cloakroom/(express|node)/memory' BENCH_ROUTES=/counter,/read,/untouched BENCH_OUT=bench/.work/before-1 npx tsx bench/run.ts
 * npx tsx bench/costs.ts bench/.work/before-*\/raw.json
 * ```
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import type { RunResults } from './lib/results.js'
import { spread, summarize } from './lib/stats.js'

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error('usage: tsx bench/costs.ts <raw.json>...')
  process.exit(2)
}
const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as RunResults)
const costs = new Map<string, number[]>()
const noise = new Map<string, number[]>()
for (const run of runs) {
  for (const result of run.results) {
    const bare = run.results.find((r) => r.target.library === 'bare' && r.target.framework === result.target.framework)
    if (result.target.library === 'bare') {
      const cpu = spread(result.samples.map((s) => s.cpuUsPerRequest))
      noise.set(result.target.id, [...(noise.get(result.target.id) ?? []), cpu.max - cpu.min])
      continue
    }
    for (const route of result.target.routes) {
      const summary = summarize(result, route, bare)
      if (summary === undefined) continue
      const key = `${result.target.id} ${route}`
      costs.set(key, [...(costs.get(key) ?? []), summary.costUs.median])
    }
  }
}
const us = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`
console.log('| server | route | cost µs, median of runs | each run |')
console.log('|---|---|--:|---|')
for (const [key, values] of costs) {
  const [id, route] = key.split(' ')
  console.log(`| ${id} | ${route} | ${us(spread(values).median)} | ${values.map(us).join(', ')} |`)
}
for (const [id, values] of noise) console.log(`\n${id}: spread of its CPU µs/request over the passes, per run: ${values.map((v) => v.toFixed(1)).join(', ')}`)
