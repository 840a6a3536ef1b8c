// The Session unit tests of actix-session (tests/session.rs), ported, plus our stated differences.
import { describe, expect, it } from 'vitest'
import { SessionSchemaError, SessionValueError } from '../../src/core/errors.js'
import { SessionHandle, type SessionBackend } from '../../src/core/session.js'
import type { ChangeSet, SessionRecord } from '../../src/core/store.js'
import type { StandardSchemaV1 } from '../../src/core/standard-schema.js'

const backends = new WeakMap<SessionHandle, SessionBackend>()

/** A backend without userKey: these tests do not file sessions by user. */
const noAccounts: Pick<SessionBackend, 'userKey' | 'listByUser' | 'revokeByUser' | 'dataRules' | 'logger'> = {
  userKey: undefined,
  listByUser: async () => [],
  revokeByUser: async () => 0,
  dataRules: undefined,
  logger: { debug: () => {}, warn: () => {}, error: () => {} },
}

function sessionOf(backend: SessionBackend, cookieValue: string | undefined): SessionHandle {
  const session = new SessionHandle(backend, cookieValue)
  backends.set(session, backend)
  return session
}

/** The change set the manager would commit, read the way the manager reads it. */
function changesOf(session: SessionHandle): ChangeSet {
  const view = SessionHandle.commitView(session, backends.get(session)!)
  if (view === undefined) throw new Error('not a session of this backend')
  return view.changes
}

/** A session with no cookie: what actix's `Session::new()` gives. */
function standalone(): SessionHandle {
  const backend: SessionBackend = {
    openCookie: async () => null,
    load: async () => null,
    ...noAccounts,
  }
  return sessionOf(backend, undefined)
}

/** A session whose cookie opens to a record holding `data`. */
function withRecord(data: SessionRecord['data']): { session: SessionHandle; loads: () => number } {
  let loads = 0
  const backend: SessionBackend = {
    openCookie: async () => ({ id: 'id-1', createdAt: Date.now(), stale: false, keyId: 'AbCdEfGh' }),
    load: async () => {
      loads++
      return { data: structuredClone(data), createdAt: 0, absoluteExpiresAt: null }
    },
    ...noAccounts,
  }
  return { session: sessionOf(backend, 'sealed'), loads: () => loads }
}

const numberSchema: StandardSchemaV1<unknown, number> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) => (typeof value === 'number' ? { value } : { issues: [{ message: 'expected a number' }] }),
  },
}

describe('Session (actix tests/session.rs)', () => {
  it('standalone_session: starts unchanged and empty; insert makes it changed', async () => {
    const session = standalone()
    expect(session.status).toBe('unchanged')
    expect(await session.entries()).toEqual({})
    session.insert('key', 'value')
    expect(session.status).toBe('changed')
    expect(await session.get('key')).toBe('value')
  })

  it('session: insert, insert, remove leaves exactly the second key', async () => {
    const session = standalone()
    session.insert('key', 'value')
    session.insert('key2', 'value2')
    await session.remove('key')
    expect(await session.entries()).toEqual({ key2: 'value2' })
  })

  it('get_session: a boolean round-trips', async () => {
    const session = standalone()
    session.insert('key', true)
    expect(await session.get('key')).toBe(true)
  })

  it('get_session_from_request_head: a number round-trips', async () => {
    const session = standalone()
    session.insert('key', 10)
    expect(await session.get('key')).toBe(10)
  })

  it('purge_session: unchanged → purged', () => {
    const session = standalone()
    expect(session.status).toBe('unchanged')
    session.purge()
    expect(session.status).toBe('purged')
  })

  it('renew_session: unchanged → renewed', () => {
    const session = standalone()
    session.renew()
    expect(session.status).toBe('renewed')
  })

  it('session_entries: a key can change type', async () => {
    const session = standalone()
    session.insert('test_str', 'val')
    session.insert('test_str', 1)
    expect(await session.entries()).toEqual({ test_str: 1 })
  })

  it('session_contains_key: has() is true for an inserted key and false for a missing one', async () => {
    const session = standalone()
    session.insert('test_str', 'val')
    expect(await session.has('test_str')).toBe(true)
    expect(await session.has('test_str1')).toBe(false)
  })

  it('insert_session_after_renew: renewed absorbs a later insert', () => {
    const session = standalone()
    session.insert('test_val', 'val')
    expect(session.status).toBe('changed')
    session.renew()
    expect(session.status).toBe('renewed')
    session.insert('test_val2', 'val')
    expect(session.status).toBe('renewed')
  })

  it('update_session: update of a missing key is a no-op that leaves the status alone', async () => {
    const session = standalone()
    await session.update('test_val', (v) => v)
    expect(session.status).toBe('unchanged')
    expect(await session.has('test_val')).toBe(false)
  })

  it('update_session: successive updates apply the function to the current value', async () => {
    const session = standalone()
    session.insert('test_val', 0)
    expect(session.status).toBe('changed')
    await session.update('test_val', (v) => (v as number) + 1)
    expect(await session.get('test_val')).toBe(1)
    await session.update('test_val', (v) => (v as number) + 1)
    expect(await session.get('test_val')).toBe(2)
  })

  it('update_or_session: inserts the initial value, then applies the function', async () => {
    const session = standalone()
    await session.updateOr('test_val', 1, (v) => (v as number) + 1)
    expect(session.status).toBe('changed')
    expect(await session.get('test_val')).toBe(1)
    await session.updateOr('test_val', 1, (v) => (v as number) + 1)
    expect(await session.get('test_val')).toBe(2)
  })

  it('remove_session_after_renew: remove marks changed, and renewed absorbs it', async () => {
    const session = standalone()
    session.insert('test_val', 'val')
    await session.remove('test_val')
    expect(session.status).toBe('changed')
    session.renew()
    session.insert('test_val', 'val')
    await session.remove('test_val')
    expect(session.status).toBe('renewed')
  })

  it('clear_session_after_renew: clear of an empty session marks changed; renewed absorbs it', () => {
    const session = standalone()
    session.clear()
    expect(session.status).toBe('changed')
    session.renew()
    expect(session.status).toBe('renewed')
    session.clear()
    expect(session.status).toBe('renewed')
  })
})

describe('Session: where cloakroom differs from actix', () => {
  it('update() of a present key on an unchanged session marks it changed (actix forgets to)', async () => {
    const { session } = withRecord({ counter: 1 })
    await session.update('counter', (v) => (v as number) + 1)
    expect(session.status).toBe('changed')
    expect(changesOf(session).set).toEqual({ counter: 2 })
  })

  it('updateOr() of a present key marks the session changed', async () => {
    const { session } = withRecord({ counter: 5 })
    await session.updateOr('counter', 0, (v) => (v as number) + 1)
    expect(session.status).toBe('changed')
    expect(await session.get('counter')).toBe(6)
  })

  it('purge is final: later writes are ignored and reads see an empty session', async () => {
    const { session, loads } = withRecord({ a: 1 })
    session.purge()
    session.insert('b', 2)
    session.clear()
    session.renew()
    expect(await session.remove('a')).toBeUndefined()
    await session.updateOr('c', 1, (v) => v)
    expect(session.status).toBe('purged')
    expect(await session.entries()).toEqual({})
    expect(loads()).toBe(0)
  })

  it('purge discards the writes made before it in the same request', () => {
    const session = standalone()
    session.insert('a', 1)
    session.purge()
    expect(changesOf(session)).toEqual({ clear: false, set: {}, remove: [] })
  })

  it('renew keeps the data and absorbs later writes', async () => {
    const { session } = withRecord({ user: 'ferris' })
    session.renew()
    session.insert('role', 'admin')
    expect(session.status).toBe('renewed')
    expect(await session.entries()).toEqual({ user: 'ferris', role: 'admin' })
  })

  it('remove() of an absent key still marks the session changed', async () => {
    const session = standalone()
    expect(await session.remove('nothing')).toBeUndefined()
    expect(session.status).toBe('changed')
  })
})

describe('Session: lazy loading and the change set', () => {
  it('does not load until a read', async () => {
    const { session, loads } = withRecord({ a: 1 })
    session.insert('b', 2)
    expect(loads()).toBe(0)
    expect(await session.get('a')).toBe(1)
    expect(loads()).toBe(1)
  })

  it('loads once however many reads', async () => {
    const { session, loads } = withRecord({ a: 1 })
    await Promise.all([session.get('a'), session.has('a'), session.entries()])
    await session.get('a')
    expect(loads()).toBe(1)
  })

  it('a read after an unloaded write sees the write on top of the stored data', async () => {
    const { session } = withRecord({ a: 1, b: 2 })
    session.insert('b', 3)
    expect(await session.entries()).toEqual({ a: 1, b: 3 })
  })

  it('remove() before any read resolves to the stored value', async () => {
    const { session } = withRecord({ flash: 'saved' })
    const old = session.remove('flash')
    session.insert('flash', 'new')
    expect(await old).toBe('saved')
    expect(await session.get('flash')).toBe('new')
  })

  it('remove() resolves to a value inserted earlier in the request without loading', async () => {
    const { session, loads } = withRecord({ a: 1 })
    session.insert('a', 2)
    expect(await session.remove('a')).toBe(2)
    expect(loads()).toBe(0)
  })

  it('records changes in the contract order: clear, then remove, then set', async () => {
    const { session } = withRecord({ a: 1, b: 2 })
    session.insert('x', 1)
    session.clear()
    session.insert('y', 2)
    void session.remove('y')
    session.insert('z', 3)
    expect(changesOf(session)).toEqual({ clear: true, set: { z: 3 }, remove: ['y'] })
    expect(await session.entries()).toEqual({ z: 3 })
  })

  it('an insert stores a copy: mutating the original later changes nothing', async () => {
    const session = standalone()
    const cart = { items: [1] }
    session.insert('cart', cart)
    cart.items.push(2)
    expect(await session.get('cart')).toEqual({ items: [1] })
  })

  it('entries() is a frozen copy', async () => {
    const session = standalone()
    session.insert('a', { b: 1 })
    const entries = (await session.entries()) as Record<string, { b: number }>
    expect(Object.isFrozen(entries)).toBe(true)
    expect(Object.isFrozen(entries.a)).toBe(true)
    expect(() => {
      ;(entries as Record<string, unknown>).a = 2
    }).toThrow(TypeError)
  })

  it('a key named __proto__ is an ordinary key and pollutes nothing', async () => {
    const session = standalone()
    session.insert('__proto__', { polluted: true })
    expect(await session.get('__proto__')).toEqual({ polluted: true })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('Session: values JSON cannot carry are refused at the call', () => {
  const refused: [string, unknown][] = [
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a bigint', 10n],
    ['undefined', undefined],
    ['a nested undefined', { a: { b: undefined } }],
    ['undefined in an array', [1, undefined]],
    ['a hole in an array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['NaN', NaN],
    ['Infinity', { n: -Infinity }],
    ['a Date', new Date()],
    ['a Map', new Map()],
    ['a class instance', new (class Point { x = 1 })()],
    ['a string with NUL', 'a\u0000b'],
    ['a lone high surrogate', 'x\uD800'],
    ['a lone low surrogate', '\uDC00x'],
    ['a key with NUL inside an object', { 'a\u0000': 1 }],
  ]
  for (const [what, value] of refused) {
    it(`refuses ${what} with a SessionValueError and leaves the status alone`, () => {
      const session = standalone()
      expect(() => session.insert('k', value as never)).toThrow(SessionValueError)
      expect(session.status).toBe('unchanged')
      expect(changesOf(session).set).toEqual({})
    })
  }

  it('refuses a cycle', () => {
    const session = standalone()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => session.insert('k', cyclic as never)).toThrow(/cycle/)
  })

  it('refuses a session key holding a lone surrogate', () => {
    const session = standalone()
    expect(() => session.insert('\uD800', 1)).toThrow(SessionValueError)
  })

  it('accepts a valid surrogate pair, null values, and shared (non-cyclic) references', async () => {
    const session = standalone()
    const shared = { n: 1 }
    session.insert('k', { emoji: '🧥', nothing: null, a: shared, b: shared })
    expect(await session.get('k')).toEqual({ emoji: '🧥', nothing: null, a: { n: 1 }, b: { n: 1 } })
  })

  it('names the offending path in the message', () => {
    const session = standalone()
    expect(() => session.insert('cart', { items: [{ at: new Date() }] } as never)).toThrow(/cart\.items\[0\]\.at/)
  })

  it('update() with a function returning a refused value throws and keeps the old value', async () => {
    const { session } = withRecord({ n: 1 })
    await expect(session.update('n', () => undefined as never)).rejects.toThrow(SessionValueError)
    expect(await session.get('n')).toBe(1)
    expect(session.status).toBe('unchanged')
  })
})

describe('Session: Standard Schema validation', () => {
  it('get(key, schema) returns the validated value', async () => {
    const { session } = withRecord({ n: 3 })
    expect(await session.get('n', numberSchema)).toBe(3)
  })

  it('get(key, schema) throws a SessionSchemaError when the value does not match', async () => {
    const { session } = withRecord({ n: 'three' })
    await expect(session.get('n', numberSchema)).rejects.toThrow(SessionSchemaError)
  })

  it('get(key, schema) of a missing key is undefined without validation', async () => {
    const { session } = withRecord({})
    expect(await session.get('n', numberSchema)).toBeUndefined()
  })

  it('removeAs removes the key whether or not the value matches', async () => {
    const { session } = withRecord({ n: 'x', m: 2 })
    await expect(session.removeAs('n', numberSchema)).rejects.toThrow(SessionSchemaError)
    expect(await session.removeAs('m', numberSchema)).toBe(2)
    expect(await session.entries()).toEqual({})
    expect(session.status).toBe('changed')
  })
})
