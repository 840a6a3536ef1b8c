import { CookieStore, MemoryStore, type SessionStore } from '../../src/index.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import assert from './assert.js'
import { KEY_A, KEY_B, dump, flipCharacter, ok, setup, type Handler, withClock } from './fixtures.js'
import type { PortableApi } from './portable-api.js'

const stores: Array<{ name: string; make: () => SessionStore }> = [
  { name: 'MemoryStore', make: () => new MemoryStore() },
  { name: 'CookieStore', make: () => new CookieStore() },
]

const counts: Handler = async (session) => {
  const counter = ((await session.get('counter')) ?? 0) as number
  session.insert('counter', counter + 1)
  return new Response(String(counter + 1))
}

const reads: Handler = async (session) => new Response(JSON.stringify((await session.get('counter')) ?? null))

/**
 * The manager's response decision table (README: what goes out, for each outcome), key rotation, forged and bit-flipped cookies
 * and expiry under a moved clock, for both in-process stores in both content-security modes,
 * through `manager.handle`.
 *
 * @example
 * ```ts
 * defineManagerCases(runner.api)
 * ```
 */
export function defineManagerCases({ describe, it }: PortableApi): void {
  for (const { name, make } of stores) {
    for (const contentSecurity of ['private', 'signed'] as const) {
      describe(`manager with ${name}, ${contentSecurity}`, () => {
        it('an untouched request makes no store call and sets no header', async () => {
          const { send, store } = setup(make(), { contentSecurity })
          const cookie = cookieHeader(await send(counts))
          const before = store.total()
          const response = await send(() => ok(), cookie)
          assert.deepEqual(response.headers.getSetCookie(), [])
          assert.equal(response.headers.get('cache-control'), null)
          assert.equal(response.headers.get('vary'), null)
          assert.equal(store.total(), before)
        })

        it('an insert sets the cookie with the default attributes, no-store and Vary, and the next request reads it', async () => {
          const { send } = setup(make(), { contentSecurity })
          const first = await send(counts)
          const line = first.headers.getSetCookie()[0] ?? ''
          assert.match(line, /^id=[A-Za-z0-9_.-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
          assert.equal(first.headers.get('cache-control'), 'no-store')
          assert.equal(first.headers.get('vary'), 'Cookie')
          assert.equal(await (await send(reads, cookieHeader(first))).text(), '1')
        })

        it('a read without a change sends no cookie', async () => {
          const { send } = setup(make(), { contentSecurity })
          const cookie = cookieHeader(await send(counts))
          const response = await send(reads, cookie)
          assert.equal(await response.text(), '1')
          assert.deepEqual(response.headers.getSetCookie(), [])
        })

        it('an empty new session is never stored', async () => {
          const { send, store } = setup(make(), { contentSecurity })
          const response = await send((session) => (session.insert('a', 1), void session.remove('a'), ok()))
          assert.deepEqual(response.headers.getSetCookie(), [])
          assert.equal(store.calls.create, 0)
        })

        it('renew issues a new cookie with the same data; where the store can invalidate, the old cookie is dead', async () => {
          const inner = make()
          const { send } = setup(inner, { contentSecurity })
          const before = cookieHeader(await send(counts))
          const after = cookieHeader(await send((session) => (session.renew(), ok()), before))
          // A cookie store renewed within the same millisecond may carry the very same record (and,
          // signed, the very same value): only a store that can invalidate promises a new one.
          if (inner.canInvalidate) assert.notEqual(after, before)
          assert.deepEqual(await (await send(dump, after)).json(), { counter: 1 })
          const replay = await (await send(dump, before)).json()
          assert.deepEqual(replay, inner.canInvalidate ? {} : { counter: 1 })
        })

        it('purge sends the removal cookie; without a cookie it sends nothing', async () => {
          const { send } = setup(make(), { contentSecurity })
          const cookie = cookieHeader(await send(counts))
          const removal = sessionCookie(await send((session) => (session.purge(), ok()), cookie))
          assert.equal(removal?.value ?? '', '')
          assert.equal(removal?.maxAge, 0)
          assert.deepEqual((await send((session) => (session.purge(), ok()))).headers.getSetCookie(), [])
        })

        it('a bit-flipped cookie is no session: the handler sees an empty one', async () => {
          const { send } = setup(make(), { contentSecurity })
          const cookie = cookieHeader(await send(counts))
          // In the key id, just inside the last part (nonce or MAC), and near the end (tag or MAC).
          for (const index of [cookie.indexOf('.', 3) + 2, cookie.lastIndexOf('.') + 2, cookie.length - 2]) {
            const flipped = flipCharacter(cookie, index)
            assert.deepEqual(await (await send(dump, flipped)).json(), {}, `flipped at ${index}`)
          }
        })

        it('a forged or malformed cookie is no session, and a write replaces it', async () => {
          const { send } = setup(make(), { contentSecurity })
          for (const forged of ['id=', 'id=e1.AAAAAAAA.' + 'A'.repeat(60), 'id=s1.AAAAAAAA.e30.' + 'A'.repeat(43), 'id=%%%', 'id=' + 'x'.repeat(5000)]) {
            const response = await send(counts, forged)
            assert.equal(await response.text(), '1', forged.slice(0, 40))
            assert.notEqual(cookieHeader(response), forged)
          }
        })

        it('a cookie moved to another name does not open', async () => {
          const store = make()
          const a = setup(store, { contentSecurity })
          const b = setup(store, { contentSecurity, cookie: { name: 'other' } })
          const cookie = cookieHeader(await a.send(counts))
          assert.deepEqual(await (await b.send(dump, cookie.replace(/^id=/, 'other='))).json(), {})
        })

        it('key rotation: a cookie sealed under the older key opens and is re-sealed under the newest', async () => {
          const store = make()
          const old = setup(store, { contentSecurity, keys: [KEY_B] })
          const rotated = setup(store, { contentSecurity, keys: [KEY_A, KEY_B] })
          const newOnly = setup(store, { contentSecurity, keys: [KEY_A] })
          const cookie = cookieHeader(await old.send(counts))
          const response = await rotated.send(reads, cookie)
          assert.equal(await response.text(), '1')
          const resealed = cookieHeader(response)
          assert.notEqual(resealed, cookie)
          assert.equal(await (await newOnly.send(reads, resealed)).text(), '1')
          assert.equal(await (await newOnly.send(reads, cookie)).text(), 'null')
        })

        it('a persistent session idle past its TTL is gone (moved clock)', async () => {
          await withClock(1_700_000_000_000, async (advance) => {
            const { send } = setup(make(), { contentSecurity, lifecycle: { type: 'persistent', ttl: 60 } })
            const first = await send(counts)
            assert.equal(sessionCookie(first)?.maxAge, 60)
            const cookie = cookieHeader(first)
            advance(59)
            assert.equal(await (await send(reads, cookie)).text(), '1')
            advance(2)
            assert.equal(await (await send(reads, cookie)).text(), 'null')
          })
        })

        it('extendOn every-request keeps an active session alive past its idle window', async () => {
          await withClock(1_700_000_000_000, async (advance) => {
            const { send } = setup(make(), { contentSecurity, lifecycle: { type: 'browser', stateTtl: 60, extendOn: 'every-request' } })
            let cookie = cookieHeader(await send(counts))
            for (let i = 0; i < 3; i++) {
              advance(40)
              const response = await send(() => ok(), cookie)
              if (sessionCookie(response) !== undefined) cookie = cookieHeader(response)
            }
            assert.equal(await (await send(reads, cookie)).text(), '1')
          })
        })

        it('absoluteTimeout ends an active session whatever its activity', async () => {
          await withClock(1_700_000_000_000, async (advance) => {
            const { send } = setup(make(), { contentSecurity, absoluteTimeout: 100, lifecycle: { type: 'browser', stateTtl: 60 } })
            let cookie = cookieHeader(await send(counts))
            for (let i = 0; i < 3; i++) {
              advance(30)
              const response = await send(counts, cookie)
              if (sessionCookie(response) !== undefined) cookie = cookieHeader(response)
            }
            advance(15)
            assert.equal(await (await send(reads, cookie)).text(), 'null')
          })
        })
      })
    }

    describe(`manager failures with ${name}`, () => {
      it('a store error is an empty 500 with no-store, and its message never reaches the client', async () => {
        const { send, store } = setup(make())
        const cookie = cookieHeader(await send(counts))
        store.failing.add('load')
        store.failing.add('apply')
        const response = await send(counts, cookie)
        assert.equal(response.status, 500)
        assert.equal(await response.text(), '')
        assert.equal(response.headers.get('cache-control'), 'no-store')
        assert.deepEqual(response.headers.getSetCookie(), [])
      })

      it('a handler that throws has nothing committed and its error propagates', async () => {
        const { send, store } = setup(make())
        await assert.rejects(
          send((session) => {
            session.insert('a', 1)
            throw new Error('handler bug')
          }),
          /handler bug/,
        )
        assert.equal(store.calls.create, 0)
      })

      it('a handler that purges then throws has the record deleted before its error propagates', async () => {
        const { send, store } = setup(make())
        const cookie = cookieHeader(await send(counts))
        await assert.rejects(
          send((session) => {
            session.purge()
            throw new Error('guard refused')
          }, cookie),
          /guard refused/,
        )
        assert.equal(store.calls.delete, 1)
        if (store.canInvalidate) assert.equal(await (await send(reads, cookie)).text(), 'null')
      })

      it('a cookie over 4096 bytes fails with an empty 500 before anything is sent', async () => {
        const { send } = setup(make())
        const response = await send((session) => (session.insert('big', 'x'.repeat(3300)), ok()))
        if (name === 'CookieStore') {
          assert.equal(response.status, 500)
          assert.deepEqual(response.headers.getSetCookie(), [])
        } else {
          // A server store's cookie carries the id only, whatever the record's size.
          assert.equal(response.status, 200)
          assert.ok(cookieHeader(response).length < 200)
        }
      })
    })
  }
}
