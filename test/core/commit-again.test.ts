// A second commit of the same session in one response (a change made after a Node response's head
// left) continues from what the first commit made, against the real memory store.
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import type { Session } from '../../src/core/session.js'
import { generateKey } from '../../src/crypto/keys.js'
import { InstrumentedStore } from '../support/stores.js'

function setup() {
  const store = new InstrumentedStore()
  const manager = createSessionManager({ store, keys: [generateKey()] })
  /** Commits into fresh headers and returns them; the session stays open for a further commit, as on node:http. */
  const commit = async (session: Session): Promise<Headers> => {
    const headers = new Headers()
    expect(await manager.commit(session, { status: 200, headers, final: false })).toBeNull()
    return headers
  }
  const cookieOf = (headers: Headers): string => headers.getSetCookie()[0]!.split(';')[0]!
  const entries = (cookie: string): Promise<unknown> => manager.begin(cookie).entries()
  return { manager, store, commit, cookieOf, entries }
}

describe('committing a session again after a further change', () => {
  it('a session created by the first commit is updated by the second, not created twice', async () => {
    const { manager, store, commit, cookieOf, entries } = setup()
    const session = manager.begin(undefined)
    session.insert('a', 1)
    const cookie = cookieOf(await commit(session))
    expect(manager.pending(session)).toBe(false)
    session.insert('b', 2)
    expect(manager.pending(session)).toBe(true)
    const again = await commit(session)
    expect(again.getSetCookie()).toEqual([])
    expect(store.callOrder()).toEqual(['create', 'apply'])
    expect(await entries(cookie)).toEqual({ a: 1, b: 2 })
  })

  it('a session read as missing and then created is updated by the second commit', async () => {
    const { manager, store, commit, cookieOf, entries } = setup()
    const session = manager.begin(undefined)
    expect(await session.get('a')).toBeUndefined()
    session.insert('a', 1)
    const cookie = cookieOf(await commit(session))
    session.insert('b', 2)
    await commit(session)
    expect(store.callOrder()).toEqual(['create', 'apply'])
    expect(await entries(cookie)).toEqual({ a: 1, b: 2 })
  })

  it('a renewal is done once: the second commit updates the renewed record', async () => {
    const { manager, store, commit, cookieOf, entries } = setup()
    const first = manager.begin(undefined)
    first.insert('user', 'ferris')
    const before = cookieOf(await commit(first))
    const session = manager.begin(before)
    session.renew()
    const after = cookieOf(await commit(session))
    session.insert('k', 1)
    expect((await commit(session)).getSetCookie()).toEqual([])
    expect(store.callOrder()).toEqual(['create', 'renew', 'apply'])
    expect(await entries(after)).toEqual({ user: 'ferris', k: 1 })
    expect(await entries(before)).toEqual({})
  })

  it('a renew() after the first commit renews again', async () => {
    const { manager, store, commit, cookieOf } = setup()
    const first = manager.begin(undefined)
    first.insert('user', 'ferris')
    const session = manager.begin(cookieOf(await commit(first)))
    session.renew()
    const middle = cookieOf(await commit(session))
    session.renew()
    const last = cookieOf(await commit(session))
    expect(last).not.toBe(middle)
    expect(store.callOrder()).toEqual(['create', 'renew', 'renew'])
  })

  it('a purge after the first commit deletes the record that commit created and clears its cookie', async () => {
    const { manager, store, commit, cookieOf, entries } = setup()
    const session = manager.begin(undefined)
    session.insert('user', 'ferris')
    const cookie = cookieOf(await commit(session))
    session.purge()
    const again = await commit(session)
    expect(again.getSetCookie()).toHaveLength(1)
    expect(again.getSetCookie()[0]).toMatch(/Max-Age=0/i)
    expect(store.callOrder()).toEqual(['create', 'delete'])
    expect(await entries(cookie)).toEqual({})
  })

  it('a read after the first commit is no change; a purged session stays unchanged by later writes', async () => {
    const { manager, commit } = setup()
    const session = manager.begin(undefined)
    session.insert('a', 1)
    await commit(session)
    await session.get('a')
    expect(manager.pending(session)).toBe(false)
    session.purge()
    await commit(session)
    session.insert('b', 2)
    expect(manager.pending(session)).toBe(false)
  })
})
