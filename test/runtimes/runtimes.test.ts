// The runtime matrix: the portable suite (the core's behaviour, the store and adapter conformance
// suites, Hono included) bundled per runtime with its export conditions and run on Node, Bun, Deno
// and workerd; cookies sealed on one crypto implementation opened on the other; and the core's own
// vitest files under `bun test`. All runtimes run at once (the in-process stores' expiry runs on a
// clock the suite moves, so no case waits on real time). The runtimes come from the package in this folder; without it only
// the bundle checks run, after a loud warning (under CI=true its absence fails the file instead).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeImportsIn, type Target } from './bundle.js'
import { CROSS_DATA } from './cross-runtime.js'
import { missingRuntime } from './launch.js'
import {
  BUN_RUNNER_GAPS,
  EXPECTED_PROVIDER,
  TARGETS,
  buildAll,
  lazyWorkerd,
  openOn,
  runBunTest,
  runSuite,
  sealOn,
  type BunTestReport,
  type Bundles,
} from './matrix.js'
import type { SuiteReport } from './portable-suite.js'
import { findRuntimePackage } from './runtime-package.js'

const CI = process.env.CI === 'true'
const TIMEOUT = 60_000
const installed = findRuntimePackage('the runtime matrix (the portable suite on Node, Bun, Deno and workerd, bun test)')

let dir: string
let bundles: Bundles
// Two workerd instances: the suite swaps Date.now while it runs, which a cross-runtime seal in the
// same isolate would see.
let suiteWorker: ReturnType<typeof lazyWorkerd> | undefined
let crossWorker: ReturnType<typeof lazyWorkerd> | undefined
const reports = new Map<Target, Promise<SuiteReport>>()
let bunTest: Promise<BunTestReport> | undefined

/**
 * Registers `fn` as a test of `targets`; skipped when the runtime package is not installed (the
 * file's warning said so) or loudly when one runtime is missing from it, failed instead under CI.
 */
function itOn(targets: readonly Target[], name: string, fn: () => Promise<void>): void {
  if (!installed) {
    it.skip(name, () => {})
    return
  }
  const missing = targets.map(missingRuntime).filter((reason) => reason !== undefined)
  if (missing.length > 0 && !CI) {
    console.warn(`\n*** SKIPPED "${name}": ${missing.join('; ')} ***\n`)
    it.skip(name, () => {})
    return
  }
  it(name, async () => {
    if (missing.length > 0) throw new Error(`runtime missing under CI: ${missing.join('; ')}`)
    await fn()
  }, TIMEOUT)
}

// Holds a started promise without an unhandled rejection; the test that awaits it sees the error.
function started<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {})
  return promise
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloakroom-runtimes-'))
  bundles = await buildAll(dir)
  suiteWorker = lazyWorkerd(bundles.workerd.file)
  crossWorker = lazyWorkerd(bundles.workerd.file)
  if (!installed) return
  for (const target of TARGETS) {
    if (missingRuntime(target) === undefined) reports.set(target, started(runSuite(target, bundles, suiteWorker.get)))
  }
  if (missingRuntime('bun') === undefined) bunTest = started(runBunTest())
})

afterAll(async () => {
  await Promise.allSettled([...reports.values()])
  await suiteWorker?.dispose()
  await crossWorker?.dispose()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('bundles and import conditions', () => {
  it('the workerd bundle resolves #crypto to the WebCrypto implementation and imports nothing from node:', async () => {
    const text = await readFile(bundles.workerd.file, 'utf8')
    expect(bundles.workerd.crypto).toBe('src/crypto/web.ts')
    expect(bundles.workerd.externals).toEqual([])
    expect(nodeImportsIn(text)).toEqual([])
    expect(text).toContain('crypto.subtle')
    expect(text).not.toContain('createCipheriv')
  })

  it('the Node, Bun and Deno bundles resolve #crypto to the node:crypto implementation', async () => {
    for (const target of ['node', 'bun', 'deno'] as const) {
      expect(bundles[target].crypto, target).toBe('src/crypto/node.ts')
      expect(nodeImportsIn(await readFile(bundles[target].file, 'utf8')), target).toContain('node:crypto')
    }
  })
})

describe('the portable suite', () => {
  for (const target of TARGETS) {
    itOn([target], `passes every case on ${target}, with the ${EXPECTED_PROVIDER[target]} crypto provider`, async () => {
      const report = await (reports.get(target) as Promise<SuiteReport>)
      const failures = report.results.filter((result) => !result.ok).map((result) => `${result.name}\n${result.error ?? ''}`)
      expect(failures, `${failures.length} of ${report.results.length} failed on ${target}`).toEqual([])
      expect(report.provider).toBe(EXPECTED_PROVIDER[target])
      // The suite must really have run: its own cases, both conformance suites and the Hono scenarios.
      expect(report.results.length).toBeGreaterThan(150)
      for (const part of ['Session API', 'manager with CookieStore, signed', 'store conformance: MemoryStore', 'adapter conformance: hono']) {
        expect(report.results.some((result) => result.name.startsWith(part)), part).toBe(true)
      }
    })
  }

  itOn(TARGETS, 'runs the very same cases on every runtime', async () => {
    const names = await Promise.all(TARGETS.map(async (target) => (await (reports.get(target) as Promise<SuiteReport>)).results.map((r) => r.name)))
    for (const list of names.slice(1)) expect(list).toEqual(names[0])
  })
})

describe('cookies cross between crypto implementations', () => {
  for (const mode of ['private', 'signed'] as const) {
    itOn(['workerd', 'bun', 'deno'], `a ${mode} cookie sealed on workerd (WebCrypto) opens on Node, Bun and Deno`, async () => {
      const worker = (crossWorker as ReturnType<typeof lazyWorkerd>).get
      const cookie = await sealOn('workerd', mode, bundles, worker)
      expect(cookie).toMatch(mode === 'private' ? /^id=e1\./ : /^id=s1\./)
      for (const target of ['node', 'bun', 'deno'] as const) {
        expect(await openOn(target, mode, cookie, bundles, worker), target).toEqual(CROSS_DATA)
      }
    })

    itOn(['workerd', 'bun', 'deno'], `a ${mode} cookie sealed on Node, Bun and Deno (node:crypto) opens on workerd`, async () => {
      const worker = (crossWorker as ReturnType<typeof lazyWorkerd>).get
      for (const target of ['node', 'bun', 'deno'] as const) {
        const cookie = await sealOn(target, mode, bundles, worker)
        expect(await openOn('workerd', mode, cookie, bundles, worker), target).toEqual(CROSS_DATA)
      }
    })
  }

  itOn(['workerd'], 'a cookie tampered with after sealing on workerd opens to no session on Node', async () => {
    const cookie = await sealOn('workerd', 'signed', bundles, (crossWorker as ReturnType<typeof lazyWorkerd>).get)
    // Swap the payload for another valid base64url JSON: the MAC no longer matches.
    const parts = cookie.split('.')
    parts[2] = Buffer.from('{"forged":true}').toString('base64url')
    expect(await openOn('node', 'signed', parts.join('.'), bundles, (crossWorker as ReturnType<typeof lazyWorkerd>).get)).toEqual({})
  })
})

describe("the core's vitest files under bun test", () => {
  itOn(['bun'], 'pass on Bun, apart from the listed differences between the runners', async () => {
    const report = await (bunTest as Promise<BunTestReport>)
    const unexpected = report.failed.filter((name) => !(name in BUN_RUNNER_GAPS))
    expect(unexpected, report.output.slice(-4000)).toEqual([])
    expect(report.fail).toBe(report.failed.length)
    expect(report.pass).toBeGreaterThan(400)
  })
})
