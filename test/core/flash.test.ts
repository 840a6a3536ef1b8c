// Flash messages at the fetch level, against the real in-process stores (the memory store, which
// takes atomically, and the cookie store, which cannot), with every store call counted.
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { SessionValueError } from '../../src/core/errors.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { Session } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { InstrumentedStore } from '../support/stores.js'
import { gate } from '../support/wait.js'

type Data = { counter?: number; user?: string }
type Flash = { notice: string; error: { field: string; message: string } }
type Handler = (session: Session<Data, Flash>) => Response | Promise<Response>

function setup(inner: SessionStore = new MemoryStore(), options: Partial<SessionOptions<Data>> = {}) {
  const store = new InstrumentedStore(inner)
  const manager = createSessionManager<Data, Flash>({ store, keys: [generateKey()], ...options })
  const send = (handler: Handler, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  return { store, send }
}

const ok = (): Response => new Response('ok')
/** Answers with what `takeFlash('notice')` resolved to, and the status it left. */
const takesNotice: Handler = async (session) => {
  const notice = await session.takeFlash('notice')
  return Response.json({ notice: notice ?? null, status: session.status })
}
const flashes =
  (notice: string): Handler =>
  (session) => (session.flash('notice', notice), ok())

async function body(response: Response): Promise<{ notice: string | null; status: string }> {
  return (await response.json()) as never
}

/** The cookie to send next: the response's, when it set one. */
function next(response: Response, cookie: string): string {
  return sessionCookie(response) === undefined ? cookie : cookieHeader(response)
}

const stores = [
  { name: 'memory (takes atomically)', make: (): SessionStore => new MemoryStore() },
  { name: 'cookie (removed by the response cookie)', make: (): SessionStore => new CookieStore() },
]

for (const { name, make } of stores) {
  describe(`flash messages on the ${name} store`, () => {
    it('post, redirect, get: a flash alone creates the session, is read once, and then is gone', async () => {
      const { send } = setup(make())
      const posted = await send((session) => (session.flash('notice', 'Saved'), new Response(null, { status: 303, headers: { location: '/' } })))
      expect(posted.status).toBe(303)
      let cookie = cookieHeader(posted)
      const shown = await send(takesNotice, cookie)
      expect(await body(shown)).toEqual({ notice: 'Saved', status: 'changed' })
      expect(shown.headers.get('vary')).toMatch(/cookie/i)
      cookie = next(shown, cookie)
      const again = await send(takesNotice, cookie)
      expect(await body(again)).toEqual({ notice: null, status: 'unchanged' })
      expect(sessionCookie(again)).toBeUndefined()
    })

    it('flashes are kept beside the data: get, has and entries never see them, and data keys cannot name them', async () => {
      const { send } = setup(make())
      const cookie = cookieHeader(await send((session) => (session.insert('counter', 1), session.flash('notice', 'hi'), ok())))
      const seen = await send(async (session) => {
        const untyped = session as unknown as Session
        expect(await untyped.get('~flash:notice')).toBeUndefined()
        expect(await untyped.has('~flash:notice')).toBe(false)
        expect(await session.entries()).toEqual({ counter: 1 })
        expect(() => untyped.insert('~flash:notice', 'forged')).toThrow(SessionValueError)
        expect(() => untyped.remove('~flash:notice')).toThrow(SessionValueError)
        return Response.json({ notice: (await session.takeFlash('notice')) ?? null })
      }, cookie)
      expect(await seen.json()).toEqual({ notice: 'hi' })
    })

    it('a later flash under the same key replaces the earlier; other keys are kept', async () => {
      const { send } = setup(make())
      let cookie = cookieHeader(await send(flashes('first')))
      cookie = next(await send((session) => (session.flash('notice', 'second'), session.flash('error', { field: 'name', message: 'required' }), ok()), cookie), cookie)
      const shown = await send(async (session) => Response.json([await session.takeFlash('notice'), await session.takeFlash('error'), await session.takeFlash('notice')]), cookie)
      expect(await shown.json()).toEqual(['second', { field: 'name', message: 'required' }, null])
    })

    it("a flash taken in the request that left it is never stored (a new session with nothing else sets no cookie)", async () => {
      const { send, store } = setup(make())
      const response = await send(async (session) => {
        session.flash('notice', 'now')
        return Response.json({ notice: (await session.takeFlash('notice')) ?? null })
      })
      expect(await response.json()).toEqual({ notice: 'now' })
      expect(sessionCookie(response)).toBeUndefined()
      expect(store.calls.create).toBe(0)
    })

    it('reflash() puts back what the request took, and a take after reflash() leaves the flash in place', async () => {
      const { send } = setup(make())
      let cookie = cookieHeader(await send(flashes('kept')))
      // The page read the flash, then redirected again instead of showing it.
      const redirected = await send(async (session) => {
        expect(await session.takeFlash('notice')).toBe('kept')
        session.reflash()
        return ok()
      }, cookie)
      cookie = next(redirected, cookie)
      const peeked = await send(async (session) => {
        session.reflash()
        const notice = await session.takeFlash('notice')
        return Response.json({ notice, status: session.status })
      }, cookie)
      expect(await peeked.json()).toEqual({ notice: 'kept', status: 'unchanged' })
      cookie = next(peeked, cookie)
      const shown = await send(takesNotice, cookie)
      expect(await body(shown)).toEqual({ notice: 'kept', status: 'changed' })
      expect(await body(await send(takesNotice, next(shown, cookie)))).toEqual({ notice: null, status: 'unchanged' })
    })

    it('renew keeps the flashes; purge drops them; clear drops them', async () => {
      const { send } = setup(make())
      const cookie = cookieHeader(await send(flashes('welcome')))
      const renewed = await send((session) => (session.insert('user', 'ada'), session.renew(), ok()), cookie)
      expect(await body(await send(takesNotice, cookieHeader(renewed)))).toEqual({ notice: 'welcome', status: 'changed' })

      const purged = await send(async (session) => {
        session.flash('notice', 'bye')
        session.purge()
        return Response.json({ notice: (await session.takeFlash('notice')) ?? null, status: session.status })
      }, cookieHeader(await send(flashes('left'))))
      expect(await purged.json()).toEqual({ notice: null, status: 'purged' })

      const flashed = cookieHeader(await send(flashes('old')))
      const cleared = await send((session) => (session.clear(), session.insert('counter', 1), ok()), flashed)
      expect(await body(await send(takesNotice, next(cleared, flashed)))).toEqual({ notice: null, status: 'unchanged' })
    })

    it('a flash after clear() survives the clear (the logout message)', async () => {
      const { send } = setup(make())
      const cookie = cookieHeader(await send((session) => (session.insert('user', 'ada'), ok())))
      const out = await send((session) => (session.clear(), session.flash('notice', 'Signed out'), ok()), cookie)
      const shown = await send(async (session) => Response.json({ notice: (await session.takeFlash('notice')) ?? null, data: await session.entries() }), next(out, cookie))
      expect(await shown.json()).toEqual({ notice: 'Signed out', data: {} })
    })

    it('refuses a value JSON cannot carry, leaving the session unchanged', async () => {
      const { send } = setup(make())
      const response = await send((session) => {
        const untyped = session as unknown as Session
        expect(() => untyped.flash('notice', new Date() as never)).toThrow(SessionValueError)
        return Response.json({ status: session.status })
      })
      expect(await response.json()).toEqual({ status: 'unchanged' })
      expect(sessionCookie(response)).toBeUndefined()
    })

  })
}

describe('flash messages: the rules of a manager with data rules', () => {
  it("a schema that checks the whole record and a version's migrate never see the flashes, and the migration keeps them", async () => {
    const keys = [generateKey()]
    const inner = new MemoryStore()
    const before = createSessionManager<Data, Flash>({ store: inner, keys })
    const send = (manager: typeof before, handler: Handler, cookie?: string) =>
      manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
    const cookie = cookieHeader(await send(before, (session) => (session.insert('counter', 1), session.flash('notice', 'from v0'), ok())))
    let migrated: Record<string, unknown> | undefined
    const after = createSessionManager<Data, Flash>({
      store: inner,
      keys,
      schema: v.strictObject({ counter: v.optional(v.number()), user: v.optional(v.string()) }),
      onInvalid: 'error',
      version: 1,
      migrate: (data) => ((migrated = { ...data }), { counter: typeof data.counter === 'number' ? data.counter + 1 : 0 }),
    })
    const read = await send(after, async (session) => Response.json({ data: await session.entries() }), cookie)
    expect(await read.json()).toEqual({ data: { counter: 2 } })
    expect(migrated).toEqual({ counter: 1 })
    const shown = await send(after, async (session) => Response.json({ notice: (await session.takeFlash('notice')) ?? null, data: await session.entries() }), next(read, cookie))
    expect(await shown.json()).toEqual({ notice: 'from v0', data: { counter: 2 } })
  })
})

describe('flash messages: what they cost and how they race', () => {
  it('a request that takes a flash that is not there makes no take and writes nothing; one that never asks pays nothing', async () => {
    const { send, store } = setup()
    const cookie = cookieHeader(await send((session) => (session.insert('counter', 1), ok())))
    const before = { ...store.calls }
    const response = await send(takesNotice, cookie)
    expect(await body(response)).toEqual({ notice: null, status: 'unchanged' })
    expect(store.calls).toEqual({ ...before, load: before.load + 1 })
    await send(async (session) => (session.insert('counter', ((await session.get('counter')) ?? 0) + 1), ok()), cookie)
    expect(store.calls.take).toBe(0)
  })

  it('a stored flash is taken in the store at once (one take call), before the request commits', async () => {
    const { send, store } = setup()
    const cookie = cookieHeader(await send(flashes('once')))
    const held = gate()
    const taking = send(async (session) => {
      const notice = await session.takeFlash('notice')
      await held.pass()
      return Response.json({ notice: notice ?? null, status: session.status })
    }, cookie)
    await held.reached
    expect(store.calls.take).toBe(1)
    // The first request has not committed yet, and the flash is already gone for everybody else.
    expect(await body(await send(takesNotice, cookie))).toEqual({ notice: null, status: 'unchanged' })
    held.open()
    expect(await body(await taking)).toEqual({ notice: 'once', status: 'changed' })
  })

  it('two requests that loaded the session before either took the flash: exactly one gets it (memory store)', async () => {
    const { send } = setup()
    const cookie = cookieHeader(await send(flashes('race')))
    const loaded = [gate(), gate()]
    const both = loaded.map((stop) =>
      send(async (session) => {
        await session.entries() // loaded: the record both requests see holds the flash
        await stop.pass()
        return Response.json({ notice: (await session.takeFlash('notice')) ?? null })
      }, cookie),
    )
    await Promise.all(loaded.map((stop) => stop.reached))
    for (const stop of loaded) stop.open()
    const notices = await Promise.all(both.map(async (response) => ((await (await response).json()) as { notice: string | null }).notice))
    expect(notices.sort()).toEqual([null, 'race'])
  })

  it('the cookie store keeps no server state: two requests with the same cookie both read the flash (the documented limit)', async () => {
    const { send } = setup(new CookieStore())
    const cookie = cookieHeader(await send(flashes('twice')))
    const first = await send(takesNotice, cookie)
    expect(await body(first)).toEqual({ notice: 'twice', status: 'changed' })
    expect(await body(await send(takesNotice, cookie))).toEqual({ notice: 'twice', status: 'changed' })
    expect(await body(await send(takesNotice, cookieHeader(first)))).toEqual({ notice: null, status: 'unchanged' })
  })

  it('a store that fails to take: the response is the store error, even when the handler catches it', async () => {
    const { send, store } = setup()
    const cookie = cookieHeader(await send(flashes('lost')))
    store.failing.add('take')
    const response = await send(async (session) => {
      const notice = await session.takeFlash('notice').catch(() => 'caught')
      return new Response(notice)
    }, cookie)
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('')
  })
})
