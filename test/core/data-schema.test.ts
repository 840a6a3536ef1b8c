// The `schema` option at the user's level, through manager.handle, with a real schema library
// (Valibot, through the Standard Schema interface): stored data is checked once per request when
// first read; a refused value is dropped (read as absent, removed at the next write) or refused
// with a typed error, as `onInvalid` says. An app without the schema plays the older deploy that
// wrote the data.
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { SessionSchemaError } from '../../src/core/errors.js'
import type { SessionData } from '../../src/core/json.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { Session } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader } from '../support/http.js'
import { InstrumentedStore } from '../support/stores.js'

type Data = { counter?: number; user?: string }

/** Two deploys of one app over one store: `older` wrote without a schema, `app` reads with `options`. */
function deploys(options: Partial<SessionOptions<Data>>, inner: SessionStore = new MemoryStore()) {
  const store = new InstrumentedStore(inner)
  const keys = [generateKey()]
  const warnings: string[] = []
  const logger = { warn: (message: string) => void warnings.push(message) }
  const older = createSessionManager<SessionData>({ store, keys, logger })
  const app = createSessionManager<Data>({ store, keys, logger, ...options })
  const request = (cookie?: string): Request => new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } })
  /** Stores `data` as the older deploy would, and returns the cookie header naming it. */
  async function stored(data: SessionData): Promise<string> {
    const response = await older.handle(request(), (session) => {
      for (const [key, value] of Object.entries(data)) session.insert(key, value)
      return new Response('ok')
    })
    return cookieHeader(response)
  }
  /** What the record holds now, read by the older deploy (no schema, no hiding). */
  async function raw(cookie: string): Promise<Record<string, unknown>> {
    let data: Record<string, unknown> = {}
    await older.handle(request(cookie), async (session) => {
      data = { ...(await session.entries()) }
      return new Response('ok')
    })
    return data
  }
  const handle = (cookie: string | undefined, handler: (session: Session<Data>) => Promise<Response> | Response): Promise<Response> =>
    app.handle(request(cookie), handler)
  return { store, older, app, stored, raw, handle, warnings }
}

const json = (value: unknown): Response => Response.json(value)

describe("schema per key, onInvalid: 'drop' (the default)", () => {
  it('reads a refused value as absent, writes nothing for it on a read, and removes it at the next write of a request that read it', async () => {
    const { stored, raw, handle, store, warnings } = deploys({ schema: { counter: v.number(), user: v.string() } })
    const cookie = await stored({ counter: 'seven', user: 'ada' })
    store.calls.apply = 0

    const read = await handle(cookie, async (session) =>
      json({ counter: (await session.get('counter')) ?? null, has: await session.has('counter'), user: await session.get('user'), entries: await session.entries(), status: session.status }),
    )
    expect(await read.json()).toEqual({ counter: null, has: false, user: 'ada', entries: { user: 'ada' }, status: 'unchanged' })
    expect(store.calls.apply).toBe(0)
    expect(await raw(cookie)).toEqual({ counter: 'seven', user: 'ada' })
    expect(warnings.join('\n')).toContain('"counter" did not match the schema')
    expect(warnings.join('\n')).not.toContain('seven')

    // A write that never read the session costs no load, so the refused value stays unseen...
    const loads = store.calls.load
    await handle(cookie, (session) => {
      session.insert('user', 'bob')
      return new Response('ok')
    })
    expect(store.calls.load).toBe(loads)
    expect(await raw(cookie)).toEqual({ counter: 'seven', user: 'bob' })
    // ...until a request that read it writes.
    await handle(cookie, async (session) => {
      session.insert('user', `${await session.get('user')}!`)
      return new Response('ok')
    })
    expect(await raw(cookie)).toEqual({ user: 'bob!' })
  })

  it("lets the request's own write of the key win over the refused stored value", async () => {
    const { stored, raw, handle } = deploys({ schema: { counter: v.number() } })
    const cookie = await stored({ counter: 'seven' })
    const response = await handle(cookie, async (session) => {
      await session.updateOr('counter', 1, (n) => n + 1)
      return json(await session.get('counter'))
    })
    expect(await response.json()).toBe(1)
    expect(await raw(cookie)).toEqual({ counter: 1 })
  })

  it('reads the schema output, checks keys without a schema not at all, and validates once per request', async () => {
    let checks = 0
    const trimmed = v.pipe(
      v.string(),
      v.check(() => ++checks > 0),
      v.trim(),
    )
    const { stored, handle } = deploys({ schema: { user: trimmed } })
    const cookie = await stored({ user: '  ada  ', counter: 'not checked' })
    const response = await handle(cookie, async (session) => {
      const first = await session.get('user')
      const again = await session.get('user')
      await session.has('user')
      return json({ first, again, entries: await session.entries() })
    })
    expect(await response.json()).toEqual({ first: 'ada', again: 'ada', entries: { user: 'ada', counter: 'not checked' } })
    expect(checks).toBe(1)
  })

  it('takes an async schema (a validator that returns a promise)', async () => {
    const { stored, handle } = deploys({ schema: { counter: v.pipeAsync(v.number(), v.checkAsync(async (n) => n >= 0, 'must not be negative')) } })
    const good = await stored({ counter: 2 })
    const bad = await stored({ counter: -1 })
    const read = (cookie: string) => handle(cookie, async (session) => json((await session.get('counter')) ?? null))
    expect(await (await read(good)).json()).toBe(2)
    expect(await (await read(bad)).json()).toBeNull()
  })

  it('drops a value removed before the read without reporting it, and remove() of a refused value resolves to undefined', async () => {
    const { stored, raw, handle, warnings } = deploys({ schema: { counter: v.number() } })
    const cookie = await stored({ counter: 'seven', user: 'ada' })
    const response = await handle(cookie, async (session) => json((await session.remove('counter')) ?? null))
    expect(await response.json()).toBeNull()
    expect(await raw(cookie)).toEqual({ user: 'ada' })
    expect(warnings).toHaveLength(1)
  })
})

describe("schema per key, onInvalid: 'error'", () => {
  it('throws a SessionSchemaError naming the key on every read of the refused value, and serves the others', async () => {
    const { stored, raw, handle } = deploys({ schema: { counter: v.number() }, onInvalid: 'error' })
    const cookie = await stored({ counter: 'seven', user: 'ada' })
    const response = await handle(cookie, async (session) => {
      const errors = await Promise.all(
        [session.get('counter'), session.has('counter'), session.entries(), session.update('counter', (n) => n + 1)].map((read) =>
          read.then(
            () => null,
            (error: unknown) => error,
          ),
        ),
      )
      return json({ errors: errors.map((error) => error instanceof SessionSchemaError && error.key === 'counter' && !error.record), user: await session.get('user'), issue: (errors[0] as SessionSchemaError).issues[0]?.message })
    })
    const body = (await response.json()) as { errors: boolean[]; user: string; issue: string }
    expect(body.errors).toEqual([true, true, true, true])
    expect(body.user).toBe('ada')
    expect(body.issue).toMatch(/number/i)
    // The stored value is left for the app: an unchanged session writes nothing.
    expect(await raw(cookie)).toEqual({ counter: 'seven', user: 'ada' })
  })

  it('lets the app replace or remove the refused value, after which it reads normally', async () => {
    const { stored, raw, handle } = deploys({ schema: { counter: v.number() }, onInvalid: 'error' })
    const replaced = await stored({ counter: 'seven' })
    const response = await handle(replaced, async (session) => {
      await session.get('counter').catch((error: unknown) => {
        if (!(error instanceof SessionSchemaError)) throw error
        session.insert('counter', 0)
      })
      return json({ counter: await session.get('counter'), entries: await session.entries() })
    })
    expect(await response.json()).toEqual({ counter: 0, entries: { counter: 0 } })
    expect(await raw(replaced)).toEqual({ counter: 0 })

    const removed = await stored({ counter: 'seven', user: 'ada' })
    const after = await handle(removed, async (session) => json({ old: (await session.remove('counter')) ?? null, entries: await session.entries() }))
    expect(await after.json()).toEqual({ old: null, entries: { user: 'ada' } })
  })

  it('rethrows an uncaught SessionSchemaError to the caller, as any handler error (nothing is committed)', async () => {
    const { stored, raw, handle } = deploys({ schema: { counter: v.number() }, onInvalid: 'error' })
    const cookie = await stored({ counter: 'seven' })
    await expect(
      handle(cookie, async (session) => {
        session.insert('user', 'ada')
        return json(await session.get('counter'))
      }),
    ).rejects.toBeInstanceOf(SessionSchemaError)
    expect(await raw(cookie)).toEqual({ counter: 'seven' })
  })
})

describe('schema for the whole record', () => {
  const record = v.object({ counter: v.optional(v.number()), user: v.optional(v.pipe(v.string(), v.toUpperCase())) })

  it("reads the schema's output (keys it does not know stripped, transforms applied) without writing it", async () => {
    const { stored, raw, handle } = deploys({ schema: record })
    const cookie = await stored({ counter: 1, user: 'ada', legacy: true })
    const response = await handle(cookie, async (session) => json({ entries: await session.entries(), status: session.status }))
    expect(await response.json()).toEqual({ entries: { counter: 1, user: 'ADA' }, status: 'unchanged' })
    expect(await raw(cookie)).toEqual({ counter: 1, user: 'ada', legacy: true })
  })

  it("'drop': a refused record reads as empty and is cleared at the next write, keeping that write", async () => {
    const { stored, raw, handle } = deploys({ schema: record })
    const cookie = await stored({ counter: 'seven', user: 'ada' })
    const read = await handle(cookie, async (session) => json({ entries: await session.entries(), user: (await session.get('user')) ?? null }))
    expect(await read.json()).toEqual({ entries: {}, user: null })
    expect(await raw(cookie)).toEqual({ counter: 'seven', user: 'ada' })
    await handle(cookie, async (session) => {
      await session.get('user')
      session.insert('counter', 1)
      return new Response('ok')
    })
    expect(await raw(cookie)).toEqual({ counter: 1 })
  })

  it("'error': every read of a stored key throws a SessionSchemaError for the record, until clear()", async () => {
    const { stored, raw, handle } = deploys({ schema: record, onInvalid: 'error' })
    const cookie = await stored({ counter: 'seven', user: 'ada' })
    const response = await handle(cookie, async (session) => {
      const error = await session.get('user').catch((thrown: unknown) => thrown)
      session.insert('counter', 2) // a key the request wrote itself reads back
      const written = await session.get('counter')
      const entries = await session.entries().catch((thrown: unknown) => thrown)
      session.clear()
      session.insert('counter', 3)
      return json({
        record: error instanceof SessionSchemaError && error.record && error.key === '',
        message: (error as Error).message,
        written,
        entriesThrew: entries instanceof SessionSchemaError,
        after: await session.entries(),
      })
    })
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toMatchObject({ record: true, written: 2, entriesThrew: true, after: { counter: 3 } })
    expect(body.message).toMatch(/^cloakroom: the session's data does not match its schema: /)
    expect(await raw(cookie)).toEqual({ counter: 3 })
  })
})

describe('schema with the cookie store', () => {
  it('drops a refused value carried in the cookie and writes it out with the next change', async () => {
    const { stored, raw, handle } = deploys({ schema: { counter: v.number() } }, new CookieStore())
    const cookie = await stored({ counter: 'seven', user: 'ada' })
    const response = await handle(cookie, async (session) => {
      session.insert('user', (await session.get('user')) + '!')
      return json((await session.get('counter')) ?? null)
    })
    expect(await response.json()).toBeNull()
    expect(await raw(cookieHeader(response))).toEqual({ user: 'ada!' })
  })
})
