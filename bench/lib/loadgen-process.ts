/**
 * The harness's side of the load generator: one long-lived process (so that no run pays for a
 * process start), pinned to its own core when `taskset` exists, fed one job at a time.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { LoadJob, LoadResult } from './loadgen.js'

/** A running load generator. */
export interface LoadGenerator {
  run(job: LoadJob): Promise<LoadResult>
  stop(): void
}

/**
 * Starts `lib/loadgen.ts --serve`.
 *
 * @example
 * ```ts
 * const loadgen = startLoadGenerator(root, '1')
 * const result = await loadgen.run({ url, path: '/read', cookies, connections: 32, seconds: 2 })
 * ```
 */
export function startLoadGenerator(cwd: string, cpus: string | undefined): LoadGenerator {
  const nodeArgs = ['--import', 'tsx', 'bench/lib/loadgen.ts', '--serve']
  const [command, args] =
    cpus === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', cpus, process.execPath, ...nodeArgs]]
  const child = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'inherit'] })
  const waiting: ((line: string) => void)[] = []
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line))
  child.on('exit', (code) => {
    for (const resolve of waiting.splice(0)) resolve(JSON.stringify({ error: `load generator exited with ${String(code)}` }))
  })
  return {
    run: (job) =>
      new Promise<LoadResult>((resolve, reject) => {
        waiting.push((line) => {
          const answer = JSON.parse(line) as LoadResult | { error: string }
          if ('error' in answer) reject(new Error(answer.error))
          else resolve(answer)
        })
        child.stdin.write(JSON.stringify(job) + '\n')
      }),
    stop: () => void child.kill('SIGTERM'),
  }
}
