/**
 * Builds cloakroom as it was at an older commit, next to the benchmarks (`bench/.work/base-<sha>/`),
 * so one benchmark process can load that build and today's `dist/` side by side. The sources come
 * from `git archive` (no worktree is registered); the build uses the root `node_modules`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')

/**
 * The `dist/` folder of `commit`'s build, built on first use and kept for later runs.
 *
 * @example
 * ```ts
 * const dist = baseBuild('851ba8a') // bench/.work/base-851ba8a…/dist
 * ```
 */
export function baseBuild(commit: string): string {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${commit}^{commit}`], { cwd: root, encoding: 'utf8' }).trim()
  const dir = join(root, 'bench/.work', `base-${sha}`)
  const dist = join(dir, 'dist')
  if (existsSync(join(dist, 'index.js'))) return dist
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  console.log(`building ${sha.slice(0, 10)} in ${dir}`)
  execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C "${dir}"`], { cwd: root, stdio: 'inherit' })
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' })
  execFileSync(process.execPath, ['scripts/copy-assets.js'], { cwd: dir, stdio: 'inherit' })
  return dist
}
