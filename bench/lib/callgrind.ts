/**
 * Counts the instructions a piece of code runs, with `valgrind --tool=callgrind`: on a shared,
 * loaded machine wall-clock and even CPU-time figures move by a factor of two or more, an
 * instruction count barely moves. The measured script calls {@link mark} around the part that
 * counts; callgrind dumps its counters at each mark (it is told to dump before
 * `uv_get_constrained_memory`, which `process.constrainedMemory()` calls), so start-up, set-up
 * and warm-up fall in segments of their own. The script is bundled first, so Node starts without
 * a TypeScript loader under valgrind.
 *
 * @module
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'

/**
 * Ends a segment of the count: everything since the previous mark (or the start) is one segment.
 *
 * @example
 * ```ts
 * warmUp(); mark(); for (let i = 0; i < n; i++) op(); mark()
 * ```
 */
export function mark(): void {
  process.constrainedMemory()
}

const bundled = new Map<string, Promise<string>>()

/** Bundles `entry` (packages stay external) into `bench/.work/callgrind/`, once per process. */
function bundle(entry: string, root: string): Promise<string> {
  let made = bundled.get(entry)
  if (made === undefined) {
    const dir = join(root, 'bench/.work/callgrind')
    mkdirSync(dir, { recursive: true })
    const outfile = join(dir, basename(entry).replace(/\.ts$/, '.mjs'))
    made = build({ entryPoints: [entry], outfile, bundle: true, format: 'esm', platform: 'node', packages: 'external', logLevel: 'silent' }).then(() => outfile)
    bundled.set(entry, made)
  }
  return made
}

/**
 * Runs `entry` with `args` under callgrind from `root` and answers the instructions of each
 * segment between marks, in order (the last one runs from the last mark to the exit; Node may
 * add a segment of its own while it starts, so count the script's segments from the end), and
 * the lines of its standard error that start with `SKIP `.
 *
 * @example
 * ```ts
 * const { segments } = await callgrindSegments('bench/micro/instructions.ts', ['--child', '2000', 'seal'], root)
 * ```
 */
export async function callgrindSegments(entry: string, args: string[], root: string): Promise<{ segments: number[]; skipped: string[] }> {
  const script = await bundle(entry, root)
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-callgrind-'))
  try {
    const valgrind = ['--tool=callgrind', '--dump-before=uv_get_constrained_memory', `--callgrind-out-file=${dir}/cg`, process.execPath, '--single-threaded', script, ...args]
    const { stderr } = await promisify(execFile)('valgrind', valgrind, { cwd: root, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NODE_ENV: 'production' } })
    const part = (name: string): number => (name === 'cg' ? Number.MAX_SAFE_INTEGER : Number(name.split('.')[1]))
    const segments = readdirSync(dir)
      .filter((name) => name.startsWith('cg'))
      .sort((a, b) => part(a) - part(b))
      .map((name) => {
        const totals = /^(?:totals|summary): (\d+)/m.exec(readFileSync(join(dir, name), 'utf8'))
        if (totals === null) throw new Error(`callgrind wrote no totals in ${name}`)
        return Number(totals[1])
      })
    return { segments, skipped: stderr.split('\n').filter((line) => line.startsWith('SKIP ')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Runs `jobs` with at most `limit` at a time; one that fails does not stop the others.
 *
 * @example
 * ```ts
 * const settled = await pooled(names.map((name) => () => count(name)), 2)
 * ```
 */
export async function pooled<T>(jobs: (() => Promise<T>)[], limit: number): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array(jobs.length)
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const index = next++
        try {
          results[index] = { status: 'fulfilled', value: await (jobs[index] as () => Promise<T>)() }
        } catch (reason) {
          results[index] = { status: 'rejected', reason }
        }
      }
    }),
  )
  return results
}
