// The edges of a session's life, met where a user meets them (`manager.handle`): a login after the
// record vanished, requests in flight during a renew, timeouts lowered after sessions were issued,
// and writes a handler forgot to await. Every case runs on the memory store and the cookie store;
// test/stores/http-lifecycle.test.ts repeats the store-dependent ones over HTTP on every server store.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { SessionCommittedError } from '../../src/core/errors.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { Session } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { InstrumentedStore } from '../support/stores.js'

type Handler = (session: Session) => Response | Promise<Response>

const ok = (): Response => new Response('ok')
const readsUser: Handler = async (session) => new Response(JSON.stringify((await session.get('user')) ?? null))
/** The README's login: no read first, then renew. */
const login: Handler = (session) => {
  session.insert('user', 'ferris')
  session.renew()
  return ok()
}

const stores: [string, () => SessionStore][] = [
  ['MemoryStore', () => new MemoryStore()],
  ['CookieStore', () => new CookieStore()],
]

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
})

afterEach(() => {
  vi.useRealTimers()
})

function setup(store: SessionStore, options: Partial<SessionOptions> = {}, keys = [generateKey()]) {
  const instrumented = new InstrumentedStore(store)
  const manager = createSessionManager({ store: instrumented, keys, ...options })
  const send = (handler: Handler, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  return { send, store: instrumented, keys }
}

const advance = (seconds: number): void => {
  vi.setSystemTime(Date.now() + seconds * 1000)
}

describe.each(stores)('%s: a login after the record vanished works at once', (_name, makeStore) => {
  it('insert + renew with a cookie whose record idle-expired sets a fresh session cookie, not the removal cookie', async () => {
    const { send } = setup(makeStore(), { lifecycle: { type: 'browser', stateTtl: 60 } })
    const stale = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    advance(61)
    const response = await send(login, stale)
    const cookie = sessionCookie(response)
    expect(cookie?.maxAge).toBeUndefined()
    expect(cookie?.value).toBeTruthy()
    const fresh = cookieHeader(response)
    expect(fresh).not.toBe(stale)
    expect(await (await send(readsUser, fresh)).text()).toBe('"ferris"')
  })

  it('the fresh session has a new createdAt: its absolute timeout counts from the new login', async () => {
    const { send } = setup(makeStore(), { lifecycle: { type: 'persistent', ttl: 60 }, absoluteTimeout: 100 })
    const stale = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    advance(61)
    const response = await send(login, stale)
    // 100 s of absolute life left from now, capped by the 60 s idle window: the old createdAt would leave 39.
    expect(sessionCookie(response)?.maxAge).toBe(60)
  })

  it('a write-only handler (add to cart after a long lunch) starts a fresh session holding only its changes', async () => {
    const { send } = setup(makeStore(), { lifecycle: { type: 'browser', stateTtl: 60 } })
    const stale = cookieHeader(await send((session) => (session.insert('user', 'old'), session.insert('cart', 1), ok())))
    advance(61)
    const fresh = cookieHeader(await send((session) => (session.insert('cart', 2), ok()), stale))
    const entries = await send(async (session) => Response.json(await session.entries()), fresh)
    expect(await entries.json()).toEqual({ cart: 2 })
  })
})

describe('a write that races a logout is still dropped', () => {
  it('a login (insert + renew) with a cookie purged moments ago creates nothing and clears the cookie', async () => {
    const { send, store } = setup(new MemoryStore())
    const cookie = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    await send((session) => (session.purge(), ok()), cookie)
    const response = await send(login, cookie)
    expect(sessionCookie(response)?.maxAge).toBe(0)
    expect(store.calls.create).toBe(1)
  })

  it('after the purge window a write with the old cookie starts a fresh session', async () => {
    const { send } = setup(new MemoryStore())
    const cookie = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    await send((session) => (session.purge(), ok()), cookie)
    advance(61)
    const fresh = cookieHeader(await send(login, cookie))
    expect(await (await send(readsUser, fresh)).text()).toBe('"ferris"')
  })
})

describe('a request whose id was renewed away never sets nor clears the cookie', () => {
  it('a request in flight during the login renew ends with no Set-Cookie, and the login holds', async () => {
    const { send, store } = setup(new MemoryStore())
    const before = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    const releaseApply = store.hold('apply')
    const inFlight = send(async (session) => (session.insert('cart', 2), ok()), before)
    await vi.waitFor(() => expect(store.calls.apply).toBe(1))
    const after = cookieHeader(await send(login, before))
    releaseApply()
    expect((await inFlight).headers.getSetCookie()).toEqual([])
    const entries = await send(async (session) => Response.json(await session.entries()), after)
    expect(await entries.json()).toEqual({ cart: 1, user: 'ferris' })
  })

  it('an every-request touch in flight during the renew ends with no Set-Cookie', async () => {
    const { send, store } = setup(new MemoryStore(), { lifecycle: { type: 'persistent', ttl: 600, extendOn: 'every-request' } })
    const before = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    const releaseTouch = store.hold('touch')
    const inFlight = send(ok, before)
    await vi.waitFor(() => expect(store.calls.touch).toBe(1))
    const after = cookieHeader(await send(login, before))
    releaseTouch()
    expect((await inFlight).headers.getSetCookie()).toEqual([])
    expect(await (await send(readsUser, after)).text()).toBe('"ferris"')
  })

  it('a request sent with the old cookie just after the renew sees no data, and its read-then-write is dropped without a cookie', async () => {
    const { send, store } = setup(new MemoryStore())
    const before = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    const after = cookieHeader(await send(login, before))
    const late = await send(async (session) => {
      const seen = await session.entries()
      session.insert('cart', 99)
      return Response.json(seen)
    }, before)
    expect(await late.json()).toEqual({})
    expect(late.headers.getSetCookie()).toEqual([])
    expect(store.calls.create).toBe(1)
    const entries = await send(async (session) => Response.json(await session.entries()), after)
    expect(await entries.json()).toEqual({ cart: 1, user: 'ferris' })
  })
})

describe.each(stores)('%s: timeouts apply to sessions issued under an older configuration', (_name, makeStore) => {
  it('lowering absoluteTimeout ends existing sessions past the new bound', async () => {
    const store = makeStore()
    const keys = [generateKey()]
    const before = setup(store, { absoluteTimeout: 3600 }, keys)
    const cookie = cookieHeader(await before.send((session) => (session.insert('user', 'ferris'), ok())))
    advance(120)
    expect(await (await before.send(readsUser, cookie)).text()).toBe('"ferris"')
    const after = setup(store, { absoluteTimeout: 60 }, keys)
    expect(await (await after.send(readsUser, cookie)).text()).toBe('null')
  })

  it('setting an absoluteTimeout where there was none caps sessions created under null', async () => {
    const store = makeStore()
    const keys = [generateKey()]
    const before = setup(store, { absoluteTimeout: null, lifecycle: { type: 'browser', stateTtl: 86_400, extendOn: 'every-request' } }, keys)
    const cookie = cookieHeader(await before.send((session) => (session.insert('user', 'ferris'), ok())))
    // Kept alive by activity for ten days: no idle timeout ever fires.
    let current = cookie
    for (let day = 0; day < 10; day++) {
      advance(86_000)
      const response = await before.send(readsUser, current)
      expect(await response.text()).toBe('"ferris"')
      if (sessionCookie(response)?.value) current = cookieHeader(response)
    }
    const after = setup(store, { absoluteTimeout: 7 * 86_400 }, keys)
    expect(await (await after.send(readsUser, current)).text()).toBe('null')
  })

  it('a lowered idle TTL applies from the next touch', async () => {
    const store = makeStore()
    const keys = [generateKey()]
    const before = setup(store, { lifecycle: { type: 'browser', stateTtl: 3600 } }, keys)
    const cookie = cookieHeader(await before.send((session) => (session.insert('n', 1), ok())))
    const after = setup(store, { lifecycle: { type: 'browser', stateTtl: 60 } }, keys)
    const touched = await after.send((session) => (session.insert('n', 2), ok()), cookie)
    const current = sessionCookie(touched)?.value ? cookieHeader(touched) : cookie
    advance(61)
    const read = await after.send(async (session) => new Response(JSON.stringify((await session.get('n')) ?? null)), current)
    expect(await read.text()).toBe('null')
  })
})

describe('writes a handler did not await', () => {
  it.each(stores)('%s: a `void session.update()` before returning still lands', async (_name, makeStore) => {
    const { send } = setup(makeStore())
    const cookie = cookieHeader(await send((session) => (session.insert('n', 1), ok())))
    const response = await send((session) => {
      void session.update('n', (n) => (n as number) + 1)
      return ok()
    }, cookie)
    const next = sessionCookie(response)?.value ? cookieHeader(response) : cookie
    expect(await (await send(async (session) => new Response(String(await session.get('n'))), next)).text()).toBe('2')
  })

  it('un-awaited updateOr and remove land too', async () => {
    const { send } = setup(new MemoryStore())
    const cookie = cookieHeader(await send((session) => (session.insert('gone', 1), ok())))
    await send((session) => {
      void session.updateOr('visits', 1, (n) => (n as number) + 1)
      void session.remove('gone')
      return ok()
    }, cookie)
    const entries = await send(async (session) => Response.json(await session.entries()), cookie)
    expect(await entries.json()).toEqual({ visits: 1 })
  })

  it('a write after the session was committed throws SessionCommittedError instead of vanishing', async () => {
    const { send } = setup(new MemoryStore())
    let kept: Session | undefined
    await send((session) => {
      kept = session
      session.insert('n', 1)
      return ok()
    })
    expect(() => kept!.insert('n', 2)).toThrow(SessionCommittedError)
    expect(() => kept!.insert('n', 2)).toThrow(/session\.insert\(\) was called after the session was committed/)
    expect(() => kept!.purge()).toThrow(SessionCommittedError)
    expect(() => kept!.update('n', (n) => n)).toThrow(SessionCommittedError)
  })
})
