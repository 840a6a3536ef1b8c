/**
 * Summarises a `.cpuprofile` (from `node --cpu-prof`): self time by function and by file, so a
 * missed budget can say where the time goes. `tsx bench/lib/profile-summary.ts <file.cpuprofile>`.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/**
 * Self time per function and per file, largest first, as percentages of all samples.
 *
 * @example
 * ```ts
 * const { byFunction, byFile } = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')))
 * ```
 */
export function summarizeProfile(profile: Profile): { byFunction: [string, number][]; byFile: [string, number][] } {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfTime = new Map<number, number>()
  profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const total = [...selfTime.values()].reduce((a, b) => a + b, 0)
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  for (const [id, time] of selfTime) {
    const frame = nodes.get(id)?.callFrame
    if (frame === undefined) continue
    const file = frame.url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/') || '(native)'
    const name = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + time)
    const group = file.startsWith('node_modules/') ? file.split('/').slice(0, file.split('/')[1]?.startsWith('@') ? 3 : 2).join('/') : file
    byFile.set(group, (byFile.get(group) ?? 0) + time)
  }
  const top = (map: Map<string, number>): [string, number][] =>
    [...map].sort((a, b) => b[1] - a[1]).map(([name, time]) => [name, (100 * time) / total])
  return { byFunction: top(byFunction), byFile: top(byFile) }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined) {
  const { byFunction, byFile } = summarizeProfile(JSON.parse(readFileSync(process.argv[2], 'utf8')) as Profile)
  console.log('self time by file:')
  for (const [name, pct] of byFile.slice(0, 20)) console.log(`${pct.toFixed(1).padStart(6)} %  ${name}`)
  console.log('\nself time by function:')
  for (const [name, pct] of byFunction.slice(0, 30)) console.log(`${pct.toFixed(1).padStart(6)} %  ${name}`)
}
