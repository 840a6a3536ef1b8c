import { MemoryStore, SessionValueError, type Session } from '../../src/index.js'
import assert from './assert.js'
import { ok, setup } from './fixtures.js'
import type { PortableApi } from './portable-api.js'

/** Runs `body` inside one request whose session already holds `data`, and returns what it returned. */
async function inRequest<T>(data: Record<string, unknown>, body: (session: Session) => Promise<T> | T): Promise<{ value: T; response: Response }> {
  const { send } = setup(new MemoryStore())
  let cookie: string | undefined
  if (Object.keys(data).length > 0) {
    const first = await send((session) => {
      for (const [key, value] of Object.entries(data)) session.insert(key, value as never)
      return ok()
    })
    cookie = first.headers.getSetCookie()[0]?.split(';')[0]
  }
  let value: T | undefined
  const response = await send(async (session) => {
    value = await body(session)
    return ok()
  }, cookie)
  return { value: value as T, response }
}

/**
 * The Session API and actix's status rules (README: The Session), through `manager.handle` with a
 * MemoryStore: the same cases on every runtime.
 *
 * @example
 * ```ts
 * defineSessionCases(runner.api)
 * ```
 */
export function defineSessionCases({ describe, it }: PortableApi): void {
  describe('Session API and status rules', () => {
    it('starts unchanged and empty; insert makes it changed', async () => {
      const { value } = await inRequest({}, async (session) => {
        const before = [session.status, await session.entries()] as const
        session.insert('a', 1)
        return [...before, session.status]
      })
      assert.deepEqual(value, ['unchanged', {}, 'changed'])
    })

    it('purge is final: earlier and later writes are dropped and reads see an empty session', async () => {
      const { value } = await inRequest({ kept: 1 }, async (session) => {
        session.insert('before', 1)
        session.purge()
        session.insert('after', 2)
        session.renew()
        return [session.status, await session.entries()]
      })
      assert.deepEqual(value, ['purged', {}])
    })

    it('renew keeps the data and absorbs later writes', async () => {
      const { value } = await inRequest({ user: 'ferris' }, async (session) => {
        session.renew()
        session.insert('role', 'admin')
        return [session.status, await session.get('user'), await session.get('role')]
      })
      assert.deepEqual(value, ['renewed', 'ferris', 'admin'])
    })

    it('update of a missing key does nothing; of a present key marks the session changed', async () => {
      const { value } = await inRequest({ n: 1 }, async (session) => {
        await session.update('missing', (old) => old)
        const afterMissing = session.status
        await session.update('n', (old) => (old as number) + 1)
        return [afterMissing, session.status, await session.get('n')]
      })
      assert.deepEqual(value, ['unchanged', 'changed', 2])
    })

    it('updateOr inserts the initial value, then applies the function', async () => {
      const { value } = await inRequest({}, async (session) => {
        await session.updateOr('n', 1, (old) => (old as number) + 1)
        await session.updateOr('n', 1, (old) => (old as number) + 1)
        return session.get('n')
      })
      assert.equal(value, 2)
    })

    it('remove of an absent key still marks the session changed and resolves to undefined', async () => {
      const { value } = await inRequest({ a: 1 }, async (session) => [await session.remove('absent'), session.status])
      assert.deepEqual(value, [undefined, 'changed'])
    })

    it('remove before any read resolves to the stored value', async () => {
      const { value } = await inRequest({ a: { deep: [1, 2] } }, (session) => session.remove('a'))
      assert.deepEqual(value, { deep: [1, 2] })
    })

    it('entries() is a frozen copy', async () => {
      const { value } = await inRequest({ a: { b: 1 } }, (session) => session.entries())
      assert.ok(Object.isFrozen(value))
      assert.ok(Object.isFrozen((value as Record<string, unknown>)['a']))
    })

    it('an insert stores a copy: mutating the original later changes nothing', async () => {
      const { value } = await inRequest({}, async (session) => {
        const original = { list: [1] }
        session.insert('o', original)
        original.list.push(2)
        return session.get('o')
      })
      assert.deepEqual(value, { list: [1] })
    })

    const refused: Array<[string, unknown]> = [
      ['a function', () => 1],
      ['a BigInt', BigInt(1)],
      ['a symbol', Symbol('s')],
      ['undefined nested in an object', { a: undefined }],
      ['NaN', Number.NaN],
      ['a string holding NUL', 'a\u0000b'],
      ['a lone surrogate', '\ud800'],
    ]
    for (const [what, bad] of refused) {
      it(`insert refuses ${what} with a SessionValueError and leaves the status alone`, async () => {
        const { value } = await inRequest({}, (session) => {
          assert.throws(() => session.insert('k', bad as never), SessionValueError)
          return session.status
        })
        assert.equal(value, 'unchanged')
      })
    }

    it('insert refuses a cycle', async () => {
      const { value } = await inRequest({}, (session) => {
        const cycle: Record<string, unknown> = {}
        cycle['self'] = cycle
        assert.throws(() => session.insert('k', cycle as never), SessionValueError)
        return session.status
      })
      assert.equal(value, 'unchanged')
    })

    it('a key named __proto__ is an ordinary key and pollutes nothing', async () => {
      const { value } = await inRequest({}, async (session) => {
        session.insert('__proto__', { polluted: true })
        return [await session.get('__proto__'), ({} as Record<string, unknown>)['polluted']]
      })
      assert.deepEqual(value, [{ polluted: true }, undefined])
    })

    it('does not load the record until a read, and loads it once however many reads', async () => {
      const { send, store } = setup(new MemoryStore())
      const first = await send((session) => (session.insert('a', 1), ok()))
      const cookie = first.headers.getSetCookie()[0]?.split(';')[0]
      await send(async (session) => {
        session.insert('b', 2)
        assert.equal(store.calls.load, 0)
        await session.get('a')
        await session.has('b')
        await session.entries()
        return ok()
      }, cookie)
      assert.equal(store.calls.load, 1)
    })
  })
}
