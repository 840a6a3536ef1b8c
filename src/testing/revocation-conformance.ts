import assert from 'node:assert/strict'
import { EVERYONE, type RevocationList } from '../core/revocation.js'
import type { ConformanceTestApi } from './store-conformance.js'

/**
 * What {@link defineRevocationListConformance} needs to know about the list under test.
 *
 * @example
 * ```ts
 * const options: RevocationListConformanceOptions = { name: 'memory', test: { describe, it }, makeList: () => new MemoryStore().revocationList() }
 * ```
 */
export interface RevocationListConformanceOptions {
  name: string
  test: ConformanceTestApi
  /** Called for each test; each call must give an isolated list. */
  makeList(): RevocationList | Promise<RevocationList>
}

/**
 * Registers the behaviour every {@link RevocationList} must show (the cookie store's revocation
 * marks), run against the real backend.
 *
 * @example
 * ```ts
 * defineRevocationListConformance({ name: 'memory', test: { describe, it }, makeList: () => new MemoryStore().revocationList() })
 * ```
 */
export function defineRevocationListConformance(options: RevocationListConformanceOptions): void {
  const { describe, it } = options.test
  describe(`revocation list conformance: ${options.name}`, () => {
    it('has no mark for a user never revoked', async () => {
      const list = await options.makeList()
      assert.equal(await list.get('never-revoked'), null)
    })

    it('keeps a mark per user, the everyone mark apart, and odd user ids as they are', async () => {
      const list = await options.makeList()
      const users = ['u1', 'u:2', 'ü-3 {x}', EVERYONE]
      for (const [i, user] of users.entries()) await list.set(user, { before: 1_700_000_000_000 + i }, 60_000)
      for (const [i, user] of users.entries()) assert.deepEqual(await list.get(user), { before: 1_700_000_000_000 + i })
    })

    it('replaces a mark, keeping its exception', async () => {
      const list = await options.makeList()
      await list.set('u1', { before: 1 }, 60_000)
      await list.set('u1', { before: 2, except: 'handle-1' }, null)
      assert.deepEqual(await list.get('u1'), { before: 2, except: 'handle-1' })
    })
  })
}
