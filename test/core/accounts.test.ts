// Sessions filed by user, where a user meets them (`manager.handle`): listing a user's devices,
// signing out one or all the others, a per-user limit, and revocable stateless (cookie-store)
// sessions. Server stores repeat the listing guarantees over HTTP in test/stores/http-accounts.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { ConfigError } from '../../src/core/errors.js'
import type { SessionOptions } from '../../src/core/options.js'
import { EVERYONE } from '../../src/core/revocation.js'
import type { Session, UserSession } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { InstrumentedStore } from '../support/stores.js'

type Handler = (session: Session) => Response | Promise<Response>

const ok = (): Response => new Response('ok')

function setup(options: Partial<SessionOptions> = {}, inner: SessionStore = new MemoryStore()) {
  const store = new InstrumentedStore(inner)
  const manager = createSessionManager({ store, keys: [generateKey()], userKey: 'userId', ...options })
  const send = (handler: Handler, cookie?: string, userAgent = 'test-agent'): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: { 'user-agent': userAgent, ...(cookie === undefined ? {} : { cookie }) } }), handler)
  /** Signs `userId` in as the README shows (insert, then renew) and returns the new cookie. */
  const signIn = async (userId: string, userAgent?: string): Promise<string> =>
    cookieHeader(await send((session) => (session.insert('userId', userId), session.renew(), ok()), undefined, userAgent))
  const whoami = async (cookie: string): Promise<unknown> => (await send(async (session) => Response.json((await session.get('userId')) ?? null), cookie)).json()
  const devices = async (cookie: string): Promise<UserSession[]> =>
    (await send(async (session) => Response.json(await session.listUserSessions()), cookie)).json() as Promise<UserSession[]>
  return { manager, store, send, signIn, whoami, devices }
}

const describeAgent = (request: Request | undefined): Record<string, string> => ({ userAgent: request?.headers.get('user-agent') ?? 'unknown' })

afterEach(() => {
  vi.useRealTimers()
})

describe('a user lists their sessions ("your devices")', () => {
  it('lists every live session of the user, newest first, the current one marked, with what describe recorded', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
    const { signIn, devices } = setup({ describe: describeAgent })
    await signIn('ferris', 'Laptop')
    vi.setSystemTime(Date.now() + 1000)
    const phone = await signIn('ferris', 'Phone')
    await signIn('someone-else', 'Elsewhere')
    const listed = await devices(phone)
    expect(listed.map((device) => [device.userAgent, device.current])).toEqual([
      ['Phone', true],
      ['Laptop', false],
    ])
    expect(listed[0]!.createdAt).toBe(Date.now())
    expect(listed[0]!.expiresAt).toBeGreaterThan(Date.now())
  })

  it('records nothing about the client unless describe asks', async () => {
    const { signIn, devices } = setup()
    const cookie = await signIn('ferris', 'Laptop')
    const [device] = await devices(cookie)
    expect(device!.info).toEqual({})
    expect(device!.userAgent).toBeUndefined()
  })

  it('a handle is no cookie: it is not the session id, and sent as a cookie it opens nothing', async () => {
    const { signIn, devices, whoami } = setup()
    const cookie = await signIn('ferris')
    const [device] = await devices(cookie)
    expect(cookie).not.toContain(device!.handle)
    expect(await whoami(`id=${device!.handle}`)).toBeNull()
  })

  it('renew keeps the session listed, with the same handle', async () => {
    const { send, signIn, devices } = setup()
    const before = await signIn('ferris')
    const [first] = await devices(before)
    const after = cookieHeader(await send((session) => (session.renew(), ok()), before))
    expect(after).not.toBe(before)
    expect((await devices(after)).map((device) => [device.handle, device.current])).toEqual([[first!.handle, true]])
  })

  it('logout (purge) and removing the user id both take a session off the list', async () => {
    const { send, signIn, devices } = setup()
    const keep = await signIn('ferris')
    const loggedOut = await signIn('ferris')
    const anonymous = await signIn('ferris')
    await send((session) => (session.purge(), ok()), loggedOut)
    await send(async (session) => (await session.remove('userId'), ok()), anonymous)
    expect((await devices(keep)).length).toBe(1)
  })

  it('a session without a user id lists nothing', async () => {
    const { send, devices } = setup()
    const cookie = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    expect(await devices(cookie)).toEqual([])
  })
})

describe('a user signs sessions out', () => {
  it('revokeOtherUserSessions ends every other session of the user, keeps the current one and other users', async () => {
    const { send, signIn, whoami } = setup()
    const laptop = await signIn('ferris')
    const phone = await signIn('ferris')
    const tablet = await signIn('ferris')
    const stranger = await signIn('someone-else')
    const ended = await send(async (session) => Response.json(await session.revokeOtherUserSessions()), phone)
    expect(await ended.json()).toBe(2)
    expect(await whoami(laptop)).toBeNull()
    expect(await whoami(tablet)).toBeNull()
    expect(await whoami(phone)).toBe('ferris')
    expect(await whoami(stranger)).toBe('someone-else')
  })

  it("revokeUserSession ends the one session a listing named, and cannot reach another user's session", async () => {
    const { send, signIn, whoami, devices } = setup()
    const laptop = await signIn('ferris')
    const phone = await signIn('ferris')
    const stranger = await signIn('someone-else')
    const laptopHandle = (await devices(phone)).find((device) => !device.current)!.handle
    const strangerHandle = (await devices(stranger))[0]!.handle
    const results = await send(
      async (session) => Response.json([await session.revokeUserSession(strangerHandle), await session.revokeUserSession(laptopHandle)]),
      phone,
    )
    expect(await results.json()).toEqual([false, true])
    expect(await whoami(laptop)).toBeNull()
    expect(await whoami(stranger)).toBe('someone-else')
  })

  it('a request on a session revoked while it ran cannot bring it back (purge wins)', async () => {
    const { send, store, signIn, whoami } = setup()
    const laptop = await signIn('ferris')
    const phone = await signIn('ferris')
    const release = store.hold('apply')
    const inFlight = send(async (session) => (session.insert('cart', 1), ok()), laptop)
    await vi.waitFor(() => expect(store.calls.apply).toBe(1))
    await send(async (session) => (await session.revokeOtherUserSessions(), ok()), phone)
    release()
    expect(sessionCookie(await inFlight)?.maxAge).toBe(0)
    expect(await whoami(laptop)).toBeNull()
  })

  it('manager.revokeUserSessions (a password reset job) ends them all, or all but one handle', async () => {
    const { manager, signIn, whoami, devices } = setup()
    const a = await signIn('ferris')
    const b = await signIn('ferris')
    const keepHandle = (await devices(a)).find((device) => device.current)!.handle
    expect((await manager.listUserSessions('ferris')).length).toBe(2)
    expect(await manager.revokeUserSessions('ferris', { except: keepHandle })).toBe(1)
    expect(await whoami(b)).toBeNull()
    expect(await whoami(a)).toBe('ferris')
    expect(await manager.revokeUserSessions('ferris')).toBe(1)
    expect(await whoami(a)).toBeNull()
  })
})

describe('lastSeenAt', () => {
  it('a read refreshes it at most once per lastSeenInterval: reads do not become writes more often', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
    const { store, signIn, whoami, devices } = setup({ lastSeenInterval: 300 })
    const cookie = await signIn('ferris')
    const writes = (): number => store.calls.apply + store.calls.renew + store.calls.create
    const before = writes()
    vi.setSystemTime(Date.now() + 299_000)
    await whoami(cookie)
    expect(writes()).toBe(before)
    vi.setSystemTime(Date.now() + 2000)
    await whoami(cookie)
    expect(writes()).toBe(before + 1)
    expect((await devices(cookie))[0]!.lastSeenAt).toBe(Date.now())
    await whoami(cookie)
    expect(writes()).toBe(before + 1)
  })
})

describe('maxSessionsPerUser', () => {
  it("a login beyond the limit ends the user's least recently seen session", async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
    const { signIn, whoami } = setup({ maxSessionsPerUser: 2, lastSeenInterval: 1 })
    const first = await signIn('ferris')
    vi.setSystemTime(Date.now() + 5000)
    const second = await signIn('ferris')
    vi.setSystemTime(Date.now() + 5000)
    await whoami(first) // seen again: now the second is the least recently seen
    vi.setSystemTime(Date.now() + 5000)
    const third = await signIn('ferris')
    expect(await whoami(second)).toBeNull()
    expect(await whoami(first)).toBe('ferris')
    expect(await whoami(third)).toBe('ferris')
  })

  it('needs a store that lists: with the cookie store it is refused at start-up', () => {
    expect(() => createSessionManager({ store: new CookieStore(), keys: [generateKey()], userKey: 'userId', maxSessionsPerUser: 3 })).toThrow(
      /maxSessionsPerUser needs a store that lists sessions/,
    )
  })
})

describe('options and errors', () => {
  it('without userKey, listing says what to configure', async () => {
    const { send } = setup({ userKey: undefined })
    const response = await send(async (session) => {
      try {
        await session.listUserSessions()
        return ok()
      } catch (error) {
        return new Response(error instanceof ConfigError ? error.message : 'other')
      }
    })
    expect(await response.text()).toMatch(/needs the userKey option/)
  })

  it('without userKey nothing is filed (no owner in the store)', async () => {
    const inner = new MemoryStore()
    const { send } = setup({ userKey: undefined }, inner)
    await send((session) => (session.insert('userId', 'ferris'), ok()))
    expect(await inner.listByUser('ferris')).toEqual([])
  })

  it.each([
    [{ userKey: '' }, /userKey must be the name/],
    [{ userKey: undefined, describe: describeAgent }, /describe only applies to sessions filed by user/],
    [{ maxSessionsPerUser: 0 }, /maxSessionsPerUser must be a whole number/],
  ] as const)('refuses %o at start-up', (options, message) => {
    expect(() => createSessionManager({ store: new MemoryStore(), keys: [generateKey()], userKey: 'userId', ...options })).toThrow(message)
  })
})

describe('stateless (cookie-store) sessions', () => {
  it('cannot be listed: listUserSessions throws a ConfigError that says why', async () => {
    const { manager } = setup({}, new CookieStore())
    await expect(manager.listUserSessions('ferris')).rejects.toThrow(/cannot list a user's sessions/)
  })

  it('without a revocation list, revoking says what to configure', async () => {
    const { manager } = setup({}, new CookieStore())
    await expect(manager.revokeUserSessions('ferris')).rejects.toThrow(/give the cookie store a revocation list/)
  })

  it('with a revocation list, "sign out my other devices" ends the others and keeps the current one', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
    const revocations = new MemoryStore().revocationList()
    const { send, signIn, whoami } = setup({}, new CookieStore({ revocations }))
    const laptop = await signIn('ferris')
    const stranger = await signIn('someone-else')
    vi.setSystemTime(Date.now() + 1)
    const phone = await signIn('ferris')
    vi.setSystemTime(Date.now() + 1)
    await send(async (session) => (await session.revokeOtherUserSessions(), ok()), phone)
    expect(await whoami(laptop)).toBeNull()
    expect(await whoami(phone)).toBe('ferris')
    expect(await whoami(stranger)).toBe('someone-else')
    // A later login of the same user is not caught by the old mark.
    vi.setSystemTime(Date.now() + 1)
    expect(await whoami(await signIn('ferris'))).toBe('ferris')
  })

  it('a revocation in another process takes effect within revocationCacheMs', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
    const revocations = new MemoryStore().revocationList()
    const keys = [generateKey()]
    const here = createSessionManager({ store: new CookieStore({ revocations, revocationCacheMs: 5000 }), keys, userKey: 'userId' })
    const there = createSessionManager({ store: new CookieStore({ revocations, revocationCacheMs: 5000 }), keys, userKey: 'userId' })
    const send = (manager: typeof here, handler: Handler, cookie?: string) =>
      manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
    const cookie = cookieHeader(await send(here, (session) => (session.insert('userId', 'ferris'), ok())))
    const whoamiHere = async (): Promise<string> => (await send(here, async (session) => new Response(String(await session.get('userId'))), cookie)).text()
    expect(await whoamiHere()).toBe('ferris')
    vi.setSystemTime(Date.now() + 1)
    await there.revokeUserSessions('ferris')
    expect(await whoamiHere()).toBe('ferris')
    vi.setSystemTime(Date.now() + 5000)
    expect(await whoamiHere()).toBe('undefined')
  })

  it('the everyone mark revokes every stateless session, filed or not', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
    const revocations = new MemoryStore().revocationList()
    const { manager, send, signIn, whoami } = setup({}, new CookieStore({ revocations }))
    const filed = await signIn('ferris')
    const anonymous = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    vi.setSystemTime(Date.now() + 1)
    expect(await manager.revokeUserSessions(EVERYONE)).toBeNull()
    expect(await whoami(filed)).toBeNull()
    expect(await (await send(async (session) => Response.json(await session.entries()), anonymous)).json()).toEqual({})
  })

  it('cannot end one session by handle', async () => {
    const { send, signIn } = setup({}, new CookieStore({ revocations: new MemoryStore().revocationList() }))
    const cookie = await signIn('ferris')
    const response = await send(async (session) => {
      try {
        await session.revokeUserSession('some-handle')
        return ok()
      } catch (error) {
        return new Response((error as Error).message)
      }
    }, cookie)
    expect(await response.text()).toMatch(/cannot end one session by handle/)
  })
})
