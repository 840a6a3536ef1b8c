/**
 * `npm run test:runtimes`: installs the runtime matrix's package (test/runtimes: Bun, Deno and
 * workerd through miniflare), then runs the portable suite on Node, Bun, Deno and workerd, checks
 * that cookies sealed by one crypto implementation open under the other, and runs the core's vitest
 * files under `bun test`. Prints a line per step and exits non-zero if any failed. A runtime whose
 * binary is missing is skipped with a warning, except under `CI=true`, where it fails the run.
 *
 * @example
 * ```sh
 * npm run test:runtimes                        # install, then every runtime
 * npm run test:runtimes -- deno workerd         # install, then these two
 * npx tsx scripts/test-runtimes.ts deno         # already installed: run only
 * ```
 *
 * @module
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { nodeImportsIn, type Target } from '../test/runtimes/bundle.js'
import { CROSS_DATA } from '../test/runtimes/cross-runtime.js'
import { missingRuntime } from '../test/runtimes/launch.js'
import { BUN_RUNNER_GAPS, EXPECTED_PROVIDER, TARGETS, buildAll, lazyWorkerd, openOn, runBunTest, runSuite, sealOn } from '../test/runtimes/matrix.js'

const CI = process.env.CI === 'true'
const requested = process.argv.slice(2)
const unknown = requested.filter((name) => !(TARGETS as readonly string[]).includes(name))
if (unknown.length > 0) {
  console.error(`unknown runtime ${unknown.join(', ')}; choose from ${TARGETS.join(', ')}`)
  process.exit(2)
}
const chosen = TARGETS.filter((target) => requested.length === 0 || requested.includes(target))

let failed = 0
function report(ok: boolean, line: string, detail = ''): void {
  if (!ok) failed++
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}${detail === '' ? '' : `\n${detail}`}`)
}

const runnable: Target[] = []
for (const target of chosen) {
  const missing = missingRuntime(target)
  if (missing === undefined) runnable.push(target)
  else if (CI) report(false, `${target}: ${missing}`)
  else console.warn(`*** SKIPPED ${missing} ***`)
}

const dir = await mkdtemp(join(tmpdir(), 'cloakroom-runtimes-'))
const suiteWorker = lazyWorkerd(join(dir, 'workerd.mjs'))
const crossWorker = lazyWorkerd(join(dir, 'workerd.mjs'))
try {
  const bundles = await buildAll(dir)
  const workerText = await readFile(bundles.workerd.file, 'utf8')
  const workerNodeImports = nodeImportsIn(workerText)
  report(
    bundles.workerd.crypto === 'src/crypto/web.ts' && workerNodeImports.length === 0 && bundles.workerd.externals.length === 0,
    `workerd bundle: #crypto → ${bundles.workerd.crypto}, node: imports [${workerNodeImports.join(', ')}]`,
  )

  const bunTest = runnable.includes('bun') ? runBunTest() : undefined
  bunTest?.catch(() => {})
  // All at once: most of the suite's time is spent waiting out short store TTLs.
  const suites = await Promise.allSettled(runnable.map((target) => runSuite(target, bundles, suiteWorker.get)))
  suites.forEach((settled, index) => {
    const target = runnable[index] as Target
    if (settled.status === 'rejected') return report(false, `${target}: the suite did not run`, String(settled.reason))
    const { results, provider, ms } = settled.value
    const failures = results.filter((result) => !result.ok)
    const detail = failures.map((result) => `  ✗ ${result.name}\n    ${(result.error ?? '').split('\n').join('\n    ')}`).join('\n')
    report(
      failures.length === 0 && provider === EXPECTED_PROVIDER[target],
      `${target}: ${results.length - failures.length}/${results.length} portable cases passed in ${ms} ms (crypto provider: ${provider})`,
      detail,
    )
  })

  if (runnable.includes('workerd')) {
    for (const mode of ['private', 'signed'] as const) {
      const fromWorkerd = await sealOn('workerd', mode, bundles, crossWorker.get)
      for (const target of runnable.filter((t) => t !== 'workerd')) {
        const opened = await openOn(target, mode, fromWorkerd, bundles, crossWorker.get)
        const there = isDeepStrictEqual(opened, CROSS_DATA)
        report(there, `${mode} cookie sealed on workerd opens on ${target}`, there ? '' : `  read ${JSON.stringify(opened)}`)
        const toWorkerd = await sealOn(target, mode, bundles, crossWorker.get)
        const back = await openOn('workerd', mode, toWorkerd, bundles, crossWorker.get)
        const returned = isDeepStrictEqual(back, CROSS_DATA)
        report(returned, `${mode} cookie sealed on ${target} opens on workerd`, returned ? '' : `  read ${JSON.stringify(back)}`)
      }
    }
  }

  if (bunTest !== undefined) {
    try {
      const result = await bunTest
      const unexpected = result.failed.filter((name) => !(name in BUN_RUNNER_GAPS))
      const known = result.failed.filter((name) => name in BUN_RUNNER_GAPS).map((name) => `  - ${name}: ${BUN_RUNNER_GAPS[name]}`)
      report(
        unexpected.length === 0 && result.fail === result.failed.length,
        `bun test (core vitest files): ${result.pass} passed, ${result.fail} failed (${known.length} known runner differences)`,
        [...known, ...unexpected.map((name) => `  ✗ ${name}`)].join('\n'),
      )
    } catch (error) {
      report(false, 'bun test did not run', String(error))
    }
  }
} finally {
  await suiteWorker.dispose()
  await crossWorker.dispose()
  await rm(dir, { recursive: true, force: true })
}

console.log(failed === 0 ? '\nruntime matrix: all passed' : `\nruntime matrix: ${failed} failed`)
process.exitCode = failed === 0 ? 0 : 1
