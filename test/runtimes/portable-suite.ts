// The crypto implementation the build picked through the package's `#crypto` import conditions:
// reported with the results, so a run proves which one it exercised.
import { cryptoProvider } from '#crypto'
import { CookieStore, MemoryStore } from '../../src/index.js'
import { defineStoreConformance } from '../../src/testing/index.js'
import { defineHonoCases } from './hono-cases.js'
import { defineManagerCases } from './manager-cases.js'
import { PortableRunner, type CaseResult } from './runner.js'
import { defineSessionCases } from './session-cases.js'

/** What one run of the portable suite reports, as JSON. */
export interface SuiteReport {
  /** The `name` of the crypto provider bundled in: `'node'` (node:crypto) or `'web'` (WebCrypto). */
  provider: 'node' | 'web'
  results: CaseResult[]
  ms: number
}

/**
 * The core's behaviour in a runner-neutral form, for runtimes vitest cannot reach (Bun, Deno,
 * workerd) and for Node to prove the harness: the Session API and status rules, the manager's
 * decision table with MemoryStore and CookieStore in private and signed modes, key rotation,
 * forged and bit-flipped cookies, expiry under a moved clock, the store conformance suite for both
 * in-process stores, and the adapter conformance suite through Hono's `app.request`.
 *
 * @example
 * ```ts
 * const report = await runPortableSuite()
 * const failed = report.results.filter((result) => !result.ok)
 * ```
 */
export async function runPortableSuite(): Promise<SuiteReport> {
  const started = Date.now()
  const runner = new PortableRunner()
  defineSessionCases(runner.api)
  defineManagerCases(runner.api)
  // The in-process stores judge expiry by a clock the suite moves instead of waiting on timers.
  const offsets = new WeakMap<object, { ms: number }>()
  const clocked = <S extends object>(make: (clock: () => number) => S): S => {
    const offset = { ms: 0 }
    const store = make(() => Date.now() + offset.ms)
    offsets.set(store, offset)
    return store
  }
  const advanceClock = (store: object, ms: number): void => void (offsets.get(store)!.ms += ms)
  defineStoreConformance({ name: 'MemoryStore', test: runner.api, makeStore: () => clocked((clock) => new MemoryStore({ clock })), advanceClock })
  defineStoreConformance({
    name: 'CookieStore',
    test: runner.api,
    makeStore: () => clocked((clock) => new CookieStore({ clock })),
    advanceClock,
    canInvalidate: false,
    listsByUser: false,
    takes: false,
  })
  defineHonoCases(runner.api)
  const results = await runner.run()
  return { provider: cryptoProvider.name, results, ms: Date.now() - started }
}
