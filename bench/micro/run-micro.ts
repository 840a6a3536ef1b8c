/**
 * Runs the micro benchmarks in a process of their own (pinned when asked) and keeps their numbers
 * in `results/micro.json`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'

/**
 * Runs `micro/index.ts` and waits for it.
 *
 * @example
 * ```ts
 * await runMicro(root, '0', 'bench/results/')
 * ```
 */
export async function runMicro(cwd: string, cpus: string | undefined, resultsDir: string): Promise<void> {
  const nodeArgs = ['--import', 'tsx', 'bench/micro/index.ts', `${resultsDir}micro.json`]
  const [command, args] = cpus === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', cpus, process.execPath, ...nodeArgs]]
  execFileSync(command, args, { cwd, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } })
}
