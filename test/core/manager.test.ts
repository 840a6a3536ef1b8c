// The response decision table (actix-session's, with the differences in docs/design-notes.md), store call
// by store call, against the real in-process stores wrapped in a call counter.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { CookieTooLargeError, StoreError, type CloakroomError } from '../../src/core/errors.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { Session } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader, sessionCookie, sessionCookieLine } from '../support/http.js'
import { InstrumentedStore } from '../support/stores.js'

type Handler = (session: Session) => Response | Promise<Response>

function setup(options: Partial<SessionOptions> = {}, inner: SessionStore = new MemoryStore()) {
  const store = new InstrumentedStore(inner)
  const keys = options.keys ?? [generateKey()]
  const manager = createSessionManager({ store, keys, ...options })
  const send = (handler: Handler, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  return { manager, store, send, keys }
}

const ok = (): Response => new Response('ok')
const untouched: Handler = () => ok()
const reads: Handler = async (session) => new Response(JSON.stringify((await session.get('counter')) ?? null))
const counts: Handler = async (session) => {
  const counter = ((await session.get('counter')) ?? 0) as number
  session.insert('counter', counter + 1)
  return new Response(String(counter + 1))
}

/** Creates a session holding `data` and returns the cookie header that carries it. */
async function login(send: ReturnType<typeof setup>['send'], data: Record<string, unknown> = { counter: 1 }): Promise<string> {
  const response = await send((session) => {
    for (const [key, value] of Object.entries(data)) session.insert(key, value as never)
    return ok()
  })
  return cookieHeader(response)
}

afterEach(() => {
  vi.useRealTimers()
})

describe('a request that never touches the session', () => {
  it('makes no store call and sets no cookie, with or without a cookie', async () => {
    const { send, store } = setup()
    const cookie = await login(send)
    store.calls.create = 0
    for (const header of [undefined, cookie]) {
      const response = await send(untouched, header)
      expect(response.headers.getSetCookie()).toEqual([])
      expect(response.headers.get('vary')).toBeNull()
      expect(response.headers.get('cache-control')).toBeNull()
    }
    expect(store.total()).toBe(0)
  })

  it('returns the handler response object itself (no copy, no promise on the commit path)', async () => {
    const { manager } = setup()
    const response = ok()
    const session = manager.begin(null)
    expect(manager.pending(session)).toBe(false)
    expect(await manager.handle(new Request('http://localhost/'), () => response)).toBe(response)
  })
})

describe('a session that was never written', () => {
  it('a read without a cookie makes no store call, sets no cookie, and varies on Cookie', async () => {
    const { send, store } = setup()
    const response = await send(reads)
    expect(await response.text()).toBe('null')
    expect(store.total()).toBe(0)
    expect(response.headers.getSetCookie()).toEqual([])
    expect(response.headers.get('vary')).toBe('Cookie')
  })

  it('an insert creates one record and sets the cookie with the exact default attributes', async () => {
    const { send, store } = setup()
    const response = await send(counts)
    expect(store.calls).toMatchObject({ create: 1, apply: 0, load: 0 })
    const line = sessionCookieLine(response)!
    expect(line).toMatch(/^id=[A-Za-z0-9_.-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('vary')).toBe('Cookie')
  })

  it('inserting then removing everything stores nothing and sets no cookie', async () => {
    const { send, store } = setup()
    const response = await send(async (session) => {
      session.insert('a', 1)
      await session.remove('a')
      return ok()
    })
    expect(store.total()).toBe(0)
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('renew with no data stores nothing (actix table A)', async () => {
    const { send, store } = setup()
    const response = await send((session) => {
      session.renew()
      return ok()
    })
    expect(store.total()).toBe(0)
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('renew with data on a new session creates it', async () => {
    const { send, store } = setup()
    const response = await send((session) => {
      session.insert('user', 'ferris')
      session.renew()
      return ok()
    })
    expect(store.calls).toMatchObject({ create: 1, renew: 0 })
    expect(sessionCookie(response)).toBeDefined()
  })

  it('purge without a cookie sends nothing', async () => {
    const { send, store } = setup()
    const response = await send((session) => {
      session.purge()
      return ok()
    })
    expect(store.total()).toBe(0)
    expect(response.headers.getSetCookie()).toEqual([])
  })
})

describe('an existing session', () => {
  it('a read loads once and sends no cookie under extendOn state-changes', async () => {
    const { send, store } = setup()
    const cookie = await login(send, { counter: 7 })
    const response = await send(reads, cookie)
    expect(await response.text()).toBe('7')
    expect(store.calls.load).toBe(1)
    expect(response.headers.getSetCookie()).toEqual([])
    expect(response.headers.get('cache-control')).toBeNull()
  })

  it('a change applies the change set only (no whole-record write) and keeps the cookie for a browser session', async () => {
    const { send, store } = setup()
    const cookie = await login(send, { counter: 1, other: 'kept' })
    const response = await send(counts, cookie)
    expect(store.calls).toMatchObject({ load: 1, apply: 1, create: 1 })
    expect(response.headers.getSetCookie()).toEqual([])
    const after = await send(async (session) => Response.json(await session.entries()), cookie)
    expect(await after.json()).toEqual({ counter: 2, other: 'kept' })
  })

  it('a write-only handler applies without loading', async () => {
    const { send, store } = setup()
    const cookie = await login(send)
    await send((session) => {
      session.insert('theme', 'dark')
      return ok()
    }, cookie)
    expect(store.calls).toMatchObject({ load: 0, apply: 1 })
  })

  it('a change re-sends the same cookie value for a persistent session, to push Max-Age forward', async () => {
    const { send } = setup({ lifecycle: { type: 'persistent', ttl: 60 } })
    const first = await send(counts)
    const cookie = cookieHeader(first)
    expect(sessionCookie(first)?.maxAge).toBe(60)
    const second = await send(counts, cookie)
    expect(cookieHeader(second)).toBe(cookie)
    expect(sessionCookie(second)?.maxAge).toBe(60)
  })

  it('clear() on an existing session keeps an empty record that still loads', async () => {
    const { send, store } = setup()
    const cookie = await login(send, { a: 1, b: 2 })
    await send((session) => {
      session.clear()
      return ok()
    }, cookie)
    expect(store.calls.apply).toBe(1)
    const after = await send(async (session) => Response.json({ entries: await session.entries(), status: session.status }), cookie)
    expect(await after.json()).toEqual({ entries: {}, status: 'unchanged' })
    expect(store.calls.load).toBe(1)
  })

  it('renew moves the data to a new id and the old cookie is dead', async () => {
    const { send, store } = setup()
    const oldCookie = await login(send, { user: 'ferris' })
    const response = await send((session) => {
      session.renew()
      return ok()
    }, oldCookie)
    expect(store.calls.renew).toBe(1)
    const newCookie = cookieHeader(response)
    expect(newCookie).not.toBe(oldCookie)
    expect(await (await send(reads, oldCookie)).text()).toBe('null')
    const entries = await send(async (session) => Response.json(await session.entries()), newCookie)
    expect(await entries.json()).toEqual({ user: 'ferris' })
  })

  it('renew of an existing but empty session still issues a new id', async () => {
    const { send } = setup()
    const cookie = await login(send, { a: 1 })
    await send((session) => {
      session.clear()
      return ok()
    }, cookie)
    const response = await send((session) => {
      session.renew()
      return ok()
    }, cookie)
    expect(cookieHeader(response)).not.toBe(cookie)
  })

  it('purge deletes the record and sends the removal cookie with the same attributes', async () => {
    const { send, store } = setup({ cookie: { path: '/test', domain: 'example.com', sameSite: 'strict' } })
    const cookie = await login(send)
    const response = await send((session) => {
      session.purge()
      return ok()
    }, cookie)
    expect(store.calls.delete).toBe(1)
    expect(sessionCookieLine(response)).toBe(
      'id=; Max-Age=0; Domain=example.com; Path=/test; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict',
    )
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await (await send(reads, cookie)).text()).toBe('null')
  })

  it('purge with a cookie that does not verify still sends the removal cookie, without a store call', async () => {
    const { send, store } = setup()
    for (const cookie of ['id=forged', 'id=']) {
      const response = await send((session) => {
        session.purge()
        return ok()
      }, cookie)
      expect(sessionCookie(response)?.maxAge).toBe(0)
    }
    expect(store.total()).toBe(0)
  })

  it('a write with a cookie purged moments ago is dropped and the cookie cleared (purge wins)', async () => {
    const { send, store } = setup()
    const cookie = await login(send)
    await send((session) => {
      session.purge()
      return ok()
    }, cookie)
    const response = await send(counts, cookie)
    expect(await response.text()).toBe('1')
    expect(store.calls.create).toBe(1)
    expect(sessionCookie(response)?.maxAge).toBe(0)
  })
})

describe('extendOn: every-request', () => {
  it('an untouched request with a session touches the record; a browser server-store session gets no cookie', async () => {
    const { send, store } = setup({ lifecycle: { type: 'browser', stateTtl: 60, extendOn: 'every-request' } })
    const cookie = await login(send)
    const response = await send(untouched, cookie)
    expect(store.calls).toMatchObject({ touch: 1, load: 0 })
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('a persistent session gets the same cookie again with Max-Age', async () => {
    const { send } = setup({ lifecycle: { type: 'persistent', ttl: 60, extendOn: 'every-request' } })
    const cookie = await login(send)
    const response = await send(untouched, cookie)
    expect(cookieHeader(response)).toBe(cookie)
    expect(sessionCookie(response)?.maxAge).toBe(60)
  })

  it('the cookie store re-seals on every request, so the embedded expiry moves', async () => {
    const { send } = setup({ lifecycle: { type: 'browser', stateTtl: 60, extendOn: 'every-request' } }, new CookieStore())
    const cookie = await login(send)
    const response = await send(untouched, cookie)
    expect(cookieHeader(response)).not.toBe(cookie)
    expect(sessionCookie(response)?.maxAge).toBeUndefined()
  })

  it('a request without a cookie makes no call', async () => {
    const { send, store } = setup({ lifecycle: { type: 'browser', extendOn: 'every-request' } })
    await send(untouched)
    expect(store.total()).toBe(0)
  })

  it('keeps an active session alive past its idle window', async () => {
    vi.useFakeTimers({ now: 1_000_000_000_000, toFake: ['Date'] })
    const { send } = setup({ lifecycle: { type: 'browser', stateTtl: 60, extendOn: 'every-request' } })
    const cookie = await login(send)
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(40_000)
      await send(untouched, cookie)
    }
    expect(await (await send(reads, cookie)).text()).toBe('1')
  })
})

describe('expiry', () => {
  it('a session idle past its TTL is gone (state-changes)', async () => {
    vi.useFakeTimers({ now: 1_000_000_000_000, toFake: ['Date'] })
    const { send } = setup({ lifecycle: { type: 'browser', stateTtl: 60 } })
    const cookie = await login(send)
    vi.advanceTimersByTime(59_000)
    expect(await (await send(reads, cookie)).text()).toBe('1')
    vi.advanceTimersByTime(2_000)
    expect(await (await send(reads, cookie)).text()).toBe('null')
  })

  it('reading does not extend a session under state-changes; writing does', async () => {
    vi.useFakeTimers({ now: 1_000_000_000_000, toFake: ['Date'] })
    const { send } = setup({ lifecycle: { type: 'browser', stateTtl: 60 } })
    const cookie = await login(send)
    vi.advanceTimersByTime(40_000)
    await send(counts, cookie)
    vi.advanceTimersByTime(40_000)
    expect(await (await send(reads, cookie)).text()).toBe('2')
    vi.advanceTimersByTime(40_000)
    expect(await (await send(reads, cookie)).text()).toBe('null')
  })

  for (const [name, makeStore] of [['memory', () => new MemoryStore()], ['cookie', () => new CookieStore()]] as const) {
    it(`absoluteTimeout ends an active session whatever its activity (${name} store)`, async () => {
      vi.useFakeTimers({ now: 1_000_000_000_000, toFake: ['Date'] })
      const { send } = setup({ absoluteTimeout: 100, lifecycle: { type: 'browser', stateTtl: 60, extendOn: 'every-request' } }, makeStore())
      let cookie = await login(send)
      for (let i = 0; i < 3; i++) {
        vi.advanceTimersByTime(30_000)
        const response = await send(counts, cookie)
        if (sessionCookie(response)) cookie = cookieHeader(response)
      }
      expect(await (await send(reads, cookie)).text()).toBe('4')
      vi.advanceTimersByTime(11_000)
      expect(await (await send(reads, cookie)).text()).toBe('null')
    })
  }

  it('renewing on every request does not defeat the absolute timeout (renew keeps createdAt)', async () => {
    vi.useFakeTimers({ now: 1_000_000_000_000, toFake: ['Date'] })
    const { send } = setup({ absoluteTimeout: 100 })
    let cookie = await login(send)
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(30_000)
      cookie = cookieHeader(
        await send((session) => {
          session.renew()
          return ok()
        }, cookie),
      )
    }
    vi.advanceTimersByTime(11_000)
    expect(await (await send(reads, cookie)).text()).toBe('null')
  })

  it("a persistent cookie's Max-Age is capped at the life the session has left", async () => {
    vi.useFakeTimers({ now: 1_000_000_000_000, toFake: ['Date'] })
    const { send } = setup({ absoluteTimeout: 100, lifecycle: { type: 'persistent', ttl: 60 } })
    const cookie = await login(send)
    vi.advanceTimersByTime(40_000)
    expect(sessionCookie(await send(counts, cookie))?.maxAge).toBe(60)
    vi.advanceTimersByTime(40_000)
    expect(sessionCookie(await send(counts, cookie))?.maxAge).toBe(20)
  })
})

describe('races: purge wins, different keys both land', () => {
  it('a slow request that loaded before a logout cannot bring the session back', async () => {
    const { send, store } = setup()
    const cookie = await login(send)
    // A: loads, then waits before its write reaches the store.
    const releaseApply = store.hold('apply')
    const slow = send(counts, cookie)
    await vi.waitFor(() => expect(store.calls.apply).toBe(1))
    // B: logs out and completes.
    const logout = await send((session) => {
      session.purge()
      return ok()
    }, cookie)
    expect(sessionCookie(logout)?.maxAge).toBe(0)
    releaseApply()
    const late = await slow
    expect(sessionCookie(late)?.maxAge).toBe(0)
    expect(await (await send(reads, cookie)).text()).toBe('null')
    expect(store.calls.create).toBe(1)
  })

  it('a slow request cannot write under the new id after a renew', async () => {
    const { send, store } = setup()
    const cookie = await login(send, { counter: 1 })
    const releaseApply = store.hold('apply')
    const slow = send(counts, cookie)
    await vi.waitFor(() => expect(store.calls.apply).toBe(1))
    const renewed = cookieHeader(
      await send((session) => {
        session.renew()
        return ok()
      }, cookie),
    )
    releaseApply()
    // Renewed away: the slow request neither sets nor clears the cookie (the browser holds the new id).
    expect((await slow).headers.getSetCookie()).toEqual([])
    expect(await (await send(reads, renewed)).text()).toBe('1')
  })

  it('a touch-only request (extendOn every-request) held across a logout cannot bring the session back', async () => {
    const { send, store } = setup({ lifecycle: { type: 'persistent', ttl: 60, extendOn: 'every-request' } })
    const cookie = await login(send)
    const releaseTouch = store.hold('touch')
    const slow = send(untouched, cookie)
    await vi.waitFor(() => expect(store.calls.touch).toBe(1))
    await send((session) => (session.purge(), ok()), cookie)
    releaseTouch()
    expect(sessionCookie(await slow)?.maxAge).toBe(0)
    expect(await (await send(reads, cookie)).text()).toBe('null')
  })

  it('a purge right after a renew still ends the session (the forwarding marker)', async () => {
    const { send } = setup()
    const cookie = await login(send)
    const renewed = cookieHeader(
      await send((session) => {
        session.renew()
        return ok()
      }, cookie),
    )
    await send((session) => {
      session.purge()
      return ok()
    }, cookie)
    expect(await (await send(reads, renewed)).text()).toBe('null')
  })

  it('two overlapping requests changing different keys both land', async () => {
    const { send, store } = setup()
    const cookie = await login(send, { a: 0, b: 0 })
    const releaseApply = store.hold('apply')
    const first = send(async (session) => {
      session.insert('a', ((await session.get('a')) as number) + 1)
      return ok()
    }, cookie)
    const second = send(async (session) => {
      session.insert('b', ((await session.get('b')) as number) + 1)
      return ok()
    }, cookie)
    await vi.waitFor(() => expect(store.calls.apply).toBe(2))
    releaseApply()
    await Promise.all([first, second])
    const entries = await send(async (session) => Response.json(await session.entries()), cookie)
    expect(await entries.json()).toEqual({ a: 1, b: 1 })
  })
})

describe('failures', () => {
  it('a store error on load gives an empty-bodied 500 with no-store, and the message never reaches the client', async () => {
    const { send, store } = setup({ logger: { error: () => {} } })
    const cookie = await login(send)
    store.failing.add('load')
    const response = await send(reads, cookie)
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('a handler that catches the load error still gets an empty 500', async () => {
    const { send, store } = setup({ logger: { error: () => {} } })
    const cookie = await login(send)
    store.failing.add('load')
    const response = await send(async (session) => {
      try {
        await session.get('counter')
      } catch {
        /* swallowed on purpose */
      }
      return new Response('looks fine')
    }, cookie)
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('')
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it('a store error on create gives an empty 500 (opaque errors)', async () => {
    const { send, store } = setup({ logger: { error: () => {} } })
    store.failing.add('create')
    const response = await send(counts)
    expect(response.status).toBe(500)
    const body = await response.text()
    expect(body).toBe('')
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('onError renders the failure response and receives the typed error and the request', async () => {
    let seen: CloakroomError | undefined
    let seenUrl: string | undefined
    const { send, store } = setup({
      logger: { error: () => {} },
      onError: (error, request) => {
        seen = error
        seenUrl = request?.url
        return new Response('try later', { status: 503 })
      },
    })
    store.failing.add('create')
    const response = await send(counts)
    expect(response.status).toBe(503)
    expect(seen).toBeInstanceOf(StoreError)
    expect((seen as StoreError).kind).toBe('unavailable')
    expect(seenUrl).toBe('http://localhost/')
  })

  it('an onError that throws falls back to the empty 500', async () => {
    const { send, store } = setup({
      onError: () => {
        throw new Error('oops')
      },
      logger: { error: () => {} },
    })
    store.failing.add('create')
    const response = await send(counts)
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('')
  })

  it('a handler that throws has nothing committed and its error propagates', async () => {
    const { send, store } = setup()
    const failure = new Error('handler bug')
    await expect(
      send((session) => {
        session.insert('a', 1)
        throw failure
      }),
    ).rejects.toBe(failure)
    expect(store.total()).toBe(0)
  })

  it('a response with status 500 or more commits nothing', async () => {
    const { send, store } = setup()
    const response = await send((session) => {
      session.insert('a', 1)
      return new Response('broken', { status: 503 })
    })
    expect(store.total()).toBe(0)
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('a handler error response below 500 still persists the session (actix)', async () => {
    const { send, store } = setup()
    const response = await send((session) => {
      session.insert('a', 1)
      return new Response('no', { status: 404 })
    })
    expect(store.calls.create).toBe(1)
    expect(sessionCookie(response)).toBeDefined()
  })
})

describe('the 4096-byte cookie limit', () => {
  it('a value of about 3,300 bytes already fails under private, with a CookieTooLargeError before anything is sent', async () => {
    let seen: unknown
    const { send } = setup({ onError: (error) => ((seen = error), new Response(null, { status: 500 })) }, new CookieStore())
    const response = await send((session) => {
      session.insert('blob', 'x'.repeat(3_300))
      return ok()
    })
    expect(response.status).toBe(500)
    expect(response.headers.getSetCookie()).toEqual([])
    expect(seen).toBeInstanceOf(CookieTooLargeError)
  })

  it('a smaller record fits and every Set-Cookie line stays within 4096 bytes', async () => {
    const { send } = setup({}, new CookieStore())
    const response = await send((session) => {
      session.insert('blob', 'x'.repeat(2_500))
      return ok()
    })
    expect(response.status).toBe(200)
    expect(sessionCookieLine(response)!.length).toBeLessThanOrEqual(4096)
  })
})

describe('Cache-Control and Vary', () => {
  const withHeaders =
    (headers: Record<string, string>, write = true): Handler =>
    async (session) => {
      await session.get('x')
      if (write) session.insert('x', 1)
      return new Response('ok', { headers })
    }

  it('replaces a public cache policy with no-store when the cookie is set', async () => {
    const { send } = setup()
    const response = await send(withHeaders({ 'cache-control': 'public, max-age=60' }))
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it('replaces s-maxage even next to private', async () => {
    const { send } = setup()
    const response = await send(withHeaders({ 'cache-control': 'private, s-maxage=60' }))
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it("keeps the handler's own private or no-store", async () => {
    const { send } = setup()
    expect((await send(withHeaders({ 'cache-control': 'private, max-age=60' }))).headers.get('cache-control')).toBe('private, max-age=60')
    expect((await send(withHeaders({ 'cache-control': 'no-store, no-cache' }))).headers.get('cache-control')).toBe('no-store, no-cache')
  })

  // RFC 9111 §5.2.2.7: private="field" lets a shared cache store the response minus those fields.
  it('replaces a qualified private="…" (a shared cache may store it) with no-store', async () => {
    const { send } = setup()
    const response = await send(withHeaders({ 'cache-control': 'private="x-debug", max-age=3600' }))
    expect(response.headers.get('cache-control')).toBe('no-store')
    const listing = await send(withHeaders({ 'cache-control': 'max-age=60, PRIVATE="Set-Cookie, X-Debug"' }))
    expect(listing.headers.get('cache-control')).toBe('no-store')
  })

  it('does not read a no-store or private quoted inside another directive as the directive', async () => {
    const { send } = setup()
    const quotedNoStore = await send(withHeaders({ 'cache-control': 'private="x, no-store", max-age=60' }))
    expect(quotedNoStore.headers.get('cache-control')).toBe('no-store')
    const quotedPrivate = await send(withHeaders({ 'cache-control': 'max-age=60, no-cache="x-a, private, x-b"' }))
    expect(quotedPrivate.headers.get('cache-control')).toBe('no-store')
  })

  it('still keeps an unqualified private next to a qualified no-cache', async () => {
    const { send } = setup()
    const response = await send(withHeaders({ 'cache-control': 'private, no-cache="set-cookie"' }))
    expect(response.headers.get('cache-control')).toBe('private, no-cache="set-cookie"')
  })

  it('leaves Cache-Control alone when no cookie is set', async () => {
    const { send } = setup()
    const response = await send(withHeaders({ 'cache-control': 'public, max-age=60' }, false))
    expect(response.headers.get('cache-control')).toBe('public, max-age=60')
  })

  it("merges Cookie into the handler's Vary, and leaves Vary: * alone", async () => {
    const { send } = setup()
    expect((await send(withHeaders({ vary: 'Accept-Encoding' }, false))).headers.get('vary')).toBe('Accept-Encoding, Cookie')
    expect((await send(withHeaders({ vary: '*' }, false))).headers.get('vary')).toBe('*')
    expect((await send(withHeaders({ vary: 'cookie' }, false))).headers.get('vary')).toBe('cookie')
  })

  it("keeps the handler's own Set-Cookie lines next to ours", async () => {
    const { send } = setup()
    const response = await send((session) => {
      session.insert('a', 1)
      const headers = new Headers()
      headers.append('set-cookie', 'theme=dark')
      headers.append('set-cookie', 'lang=en')
      return new Response('ok', { headers })
    })
    const names = response.headers.getSetCookie().map((line) => line.split('=')[0])
    expect(names).toEqual(['theme', 'lang', 'id'])
  })

  it('commits into a response whose headers are immutable (Response.redirect) by copying it', async () => {
    const { send } = setup()
    const response = await send((session) => {
      session.insert('a', 1)
      return Response.redirect('http://localhost/next', 302)
    })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('http://localhost/next')
    expect(sessionCookie(response)).toBeDefined()
  })
})

describe('key rotation', () => {
  it('a cookie sealed under an older key is read and re-issued under the newest', async () => {
    const oldKey = generateKey()
    const newKey = generateKey()
    const store = new MemoryStore()
    const before = setup({ keys: [oldKey] }, store)
    const cookie = await login(before.send, { counter: 5 })
    const after = setup({ keys: [newKey, oldKey] }, store)
    const response = await after.send(reads, cookie)
    expect(await response.text()).toBe('5')
    const reissued = cookieHeader(response)
    expect(reissued).not.toBe(cookie)
    // The re-issued cookie opens under the new key alone.
    const onlyNew = setup({ keys: [newKey] }, store)
    expect(await (await onlyNew.send(reads, reissued)).text()).toBe('5')
  })

  it('a removed key means no session', async () => {
    const store = new MemoryStore()
    const before = setup({}, store)
    const cookie = await login(before.send)
    const after = setup({ keys: [generateKey()] }, store)
    expect(await (await after.send(reads, cookie)).text()).toBe('null')
  })

  it('the key id does not depend on position: reordering keys keeps cookies valid', async () => {
    const a = generateKey()
    const b = generateKey()
    const store = new MemoryStore()
    const cookie = await login(setup({ keys: [a, b] }, store).send)
    expect(await (await setup({ keys: [b, a] }, store).send(reads, cookie)).text()).toBe('1')
  })
})

describe('content security', () => {
  for (const contentSecurity of ['private', 'signed'] as const) {
    it(`${contentSecurity}: a cookie moved to another name does not open`, async () => {
      const keys = [generateKey()]
      const store = new CookieStore()
      const first = setup({ keys, contentSecurity }, store)
      const value = sessionCookie(await first.send(counts))!.value
      const renamed = setup({ keys, contentSecurity, cookie: { name: 'other' } }, store)
      expect(await (await renamed.send(reads, `other=${value}`)).text()).toBe('null')
    })
  }

  it('signed cookie-store values are readable by the client but not forgeable', async () => {
    const { send } = setup({ contentSecurity: 'signed' }, new CookieStore())
    const response = await send(counts)
    const value = sessionCookie(response)!.value!
    const [, , payload] = value.split('.')
    expect(Buffer.from(payload!, 'base64url').toString()).toContain('"counter":1')
    const forged = value.replace(payload!, Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('"counter":1', '"counter":9')).toString('base64url'))
    expect(await (await send(reads, `id=${forged}`)).text()).toBe('null')
  })

  it('private cookie-store values do not show the data', async () => {
    const { send } = setup({}, new CookieStore())
    const response = await send((session) => {
      session.insert('secret', 'plain-text-marker')
      return ok()
    })
    const value = sessionCookie(response)!.value!
    for (const part of value.split('.')) {
      expect(Buffer.from(part, 'base64url').toString('latin1')).not.toContain('plain-text-marker')
    }
  })
})

describe('the cookie store within one millisecond', () => {
  it('renew and an every-request touch re-seal even when the record reads the same', async () => {
    vi.useFakeTimers({ now: 1_000_000_000_000, toFake: ['Date'] })
    const { send } = setup({ lifecycle: { type: 'browser', stateTtl: 60, extendOn: 'every-request' } }, new CookieStore())
    const cookie = await login(send)
    const touched = await send(untouched, cookie)
    expect(cookieHeader(touched)).not.toBe(cookie)
    const renewed = await send((session) => (session.renew(), ok()), cookie)
    expect(cookieHeader(renewed)).not.toBe(cookie)
  })
})

describe('actix tests/middleware.rs', () => {
  it('cookie_storage: login sets a browser cookie with the configured path and domain; logout sends Max-Age 0 with the same', async () => {
    const { send } = setup({ cookie: { path: '/test', domain: 'example.com' } }, new CookieStore())
    const login = await send((session) => (session.insert('user', 'ferris'), ok()))
    const set = sessionCookie(login)!
    expect(set).toMatchObject({ name: 'id', path: '/test', domain: 'example.com', secure: true, httpOnly: true, sameSite: 'lax' })
    expect(set.maxAge).toBeUndefined()
    const logout = await send((session) => (session.purge(), ok()), cookieHeader(login))
    const removal = sessionCookie(logout)!
    expect(removal).toMatchObject({ name: 'id', value: '', path: '/test', domain: 'example.com', secure: true, httpOnly: true, maxAge: 0 })
  })
})
