import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { bundleFor, type Bundle, type Target } from './bundle.js'
import { openAcross, sealAcross, type ContentSecurity } from './cross-runtime.js'
import { runCli, startWorkerd, type Workerd } from './launch.js'
import type { SuiteReport } from './portable-suite.js'
import { runtimeBinary } from './runtime-package.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Every runtime of the matrix, in report order. */
export const TARGETS: readonly Target[] = ['node', 'bun', 'deno', 'workerd']

/** The crypto provider each runtime must run: WebCrypto on workerd only (docs/runtimes.md). */
export const EXPECTED_PROVIDER: Record<Target, 'node' | 'web'> = { node: 'node', bun: 'node', deno: 'node', workerd: 'web' }

/** The bundles of one matrix run, one per runtime. */
export type Bundles = Record<Target, Bundle>

/**
 * Builds the portable suite for every runtime into `outDir` (about a second in all).
 *
 * @example
 * ```ts
 * const bundles = await buildAll(await mkdtemp(join(tmpdir(), 'cloakroom-runtimes-')))
 * ```
 */
export async function buildAll(outDir: string): Promise<Bundles> {
  const [node, bun, deno, workerd] = await Promise.all([
    bundleFor('node', 'entry-cli.ts', outDir),
    bundleFor('bun', 'entry-cli.ts', outDir),
    bundleFor('deno', 'entry-cli.ts', outDir),
    bundleFor('workerd', 'entry-worker.ts', outDir),
  ])
  return { node, bun, deno, workerd }
}

/**
 * Runs the portable suite under `target`: a child process for Node, Bun and Deno, a module
 * worker inside workerd for workerd.
 *
 * @example
 * ```ts
 * const report = await runSuite('deno', bundles, worker)
 * ```
 */
export async function runSuite(target: Target, bundles: Bundles, worker: () => Promise<Workerd>): Promise<SuiteReport> {
  if (target === 'workerd') return (await (await worker()).get('/suite')) as SuiteReport
  return (await runCli(target, bundles[target].file, ['suite'])) as SuiteReport
}

/**
 * Seals a cookie on `target` (Node in this process), for the cross-runtime check.
 *
 * @example
 * ```ts
 * const cookie = await sealOn('workerd', 'private', bundles, worker)
 * ```
 */
export async function sealOn(target: Target, mode: ContentSecurity, bundles: Bundles, worker: () => Promise<Workerd>): Promise<string> {
  if (target === 'workerd') return ((await (await worker()).get(`/seal?mode=${mode}`)) as { cookie: string }).cookie
  if (target === 'node') return sealAcross(mode)
  return ((await runCli(target, bundles[target].file, ['seal', mode])) as { cookie: string }).cookie
}

/**
 * Opens on `target` a cookie sealed elsewhere and returns the session entries it read.
 *
 * @example
 * ```ts
 * const entries = await openOn('node', 'private', cookie, bundles, worker) // CROSS_DATA
 * ```
 */
export async function openOn(target: Target, mode: ContentSecurity, cookie: string, bundles: Bundles, worker: () => Promise<Workerd>): Promise<unknown> {
  if (target === 'workerd') return ((await (await worker()).get(`/open?mode=${mode}`, { cookie })) as { entries: unknown }).entries
  if (target === 'node') return openAcross(mode, cookie)
  return ((await runCli(target, bundles[target].file, ['open', mode, cookie])) as { entries: unknown }).entries
}

/**
 * The core's vitest files that `bun test` runs as they are (Bun maps `vitest` imports onto
 * `bun:test`). Files that lean on vitest-only APIs (`vi.waitFor`, fake timers) stay on Node; the
 * portable suite covers their behaviour on Bun.
 */
export const BUN_TEST_FILES = [
  'src/crypto',
  'src/core',
  'test/core/session.test.ts',
  'test/core/options.test.ts',
  'test/core/manager.property.test.ts',
  'test/security',
]

/**
 * Tests of those files that fail under `bun test` for a difference between the runners, not in
 * cloakroom, with the reason. Anything else that fails is a real failure.
 */
export const BUN_RUNNER_GAPS: Record<string, string> = {
  'a session cookie answered from the cache > still expires: the cookie store’s embedded expiry is judged on every request':
    "bun test's vi has no setSystemTime, and the manager reads Date.now() for a session's expiry",
  'a session cookie answered from the cache > still honours the absolute timeout on every request':
    "bun test's vi has no setSystemTime, and the manager reads Date.now() for the absolute timeout",
}

/** What `bun test` reported. */
export interface BunTestReport {
  pass: number
  fail: number
  /** The names of the failed tests, once each. */
  failed: string[]
  output: string
}

/**
 * Runs {@link BUN_TEST_FILES} under `bun test` and parses its summary.
 *
 * @example
 * ```ts
 * const { pass, failed } = await runBunTest()
 * ```
 */
export function runBunTest(timeoutMs = 60_000): Promise<BunTestReport> {
  return new Promise((resolve, reject) => {
    execFile(
      runtimeBinary('bun'),
      ['test', ...BUN_TEST_FILES],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        // bun test writes its report to stderr and exits 1 when anything failed: judge by the summary.
        const output = `${stdout}\n${stderr}`
        const pass = /^\s*(\d+) pass$/m.exec(output)
        const fail = /^\s*(\d+) fail$/m.exec(output)
        if (pass === null || fail === null) {
          reject(new Error(`bun test printed no summary (${error?.message ?? 'no error'}):\n${output.slice(-4000)}`))
          return
        }
        const failed = [...new Set([...output.matchAll(/^\(fail\) (.+?)(?: \[[\d.]+m?s\])?$/gm)].map((match) => match[1] as string))]
        resolve({ pass: Number(pass[1]), fail: Number(fail[1]), failed, output })
      },
    )
  })
}

/**
 * Starts workerd once, on first use, and hands the same instance to every caller.
 *
 * @example
 * ```ts
 * const worker = lazyWorkerd(bundles.workerd.file)
 * await (await worker()).get('/suite')
 * ```
 */
export function lazyWorkerd(file: string): { get: () => Promise<Workerd>; dispose: () => Promise<void> } {
  let started: Promise<Workerd> | undefined
  return {
    get: () => (started ??= startWorkerd(file)),
    dispose: async () => {
      if (started !== undefined) await (await started).dispose()
    },
  }
}
