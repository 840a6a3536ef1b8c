// `version` and `migrate` at the user's level, through manager.handle: an app changes its data's
// shape and nobody is logged out. The older deploy (no version) and the newer one share a store;
// the records are inspected through the store itself, so the hidden version key can be seen.
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { SessionSchemaError, SessionValueError } from '../../src/core/errors.js'
import type { SessionData } from '../../src/core/json.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { Session } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader } from '../support/http.js'
import { InstrumentedStore } from '../support/stores.js'

/** The shape version 2 writes; version 0 (before `version` was set) kept `userId` and `count`. */
type Data = { user?: { id: string }; counter?: number }

function fromV0(old: SessionData, from: number): Partial<Data> {
  if (from !== 0) throw new Error(`no migration from ${from}`)
  const data: Partial<Data> = {}
  if (typeof old.userId === 'string') data.user = { id: old.userId }
  if (typeof old.count === 'number') data.counter = old.count
  return data
}

function deploys(options: Partial<SessionOptions<Data>> = {}, inner: SessionStore = new MemoryStore()) {
  const store = new InstrumentedStore(inner)
  const keys = [generateKey()]
  const warnings: string[] = []
  const migrations: number[] = []
  const logger = { warn: (message: string) => void warnings.push(message) }
  const older = createSessionManager<SessionData>({ store, keys, logger })
  const migrate = (old: SessionData, from: number): Partial<Data> => {
    migrations.push(from)
    return fromV0(old, from)
  }
  const app = createSessionManager<Data>({ store, keys, logger, version: 2, migrate, ...options })
  const request = (cookie?: string): Request => new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } })
  async function stored(data: SessionData): Promise<string> {
    const response = await older.handle(request(), (session) => {
      for (const [key, value] of Object.entries(data)) session.insert(key, value)
      return new Response('ok')
    })
    return cookieHeader(response)
  }
  /** The record's data as the store holds it, version key included (read by the older deploy). */
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
  return { store, app, stored, raw, handle, warnings, migrations }
}

const json = (value: unknown): Response => Response.json(value)

describe('version and migrate', () => {
  it('migrates a record written before version was set on its first read, writes it at that commit, and never again', async () => {
    const { stored, raw, handle, store, migrations } = deploys()
    const cookie = await stored({ userId: 'ada', count: 3, theme: 'dark' })
    store.calls.apply = 0

    const first = await handle(cookie, async (session) =>
      json({ user: await session.get('user'), entries: await session.entries(), has: await session.has('~version' as never), status: session.status }),
    )
    expect(await first.json()).toEqual({ user: { id: 'ada' }, entries: { user: { id: 'ada' }, counter: 3 }, has: false, status: 'changed' })
    expect(migrations).toEqual([0])
    expect(store.calls.apply).toBe(1)
    expect(await raw(cookie)).toEqual({ user: { id: 'ada' }, counter: 3, '~version': 2 })

    const second = await handle(cookie, async (session) => json({ counter: await session.get('counter'), status: session.status }))
    expect(await second.json()).toEqual({ counter: 3, status: 'unchanged' })
    expect(migrations).toEqual([0])
    expect(store.calls.apply).toBe(1)
  })

  it("keeps the request's own writes over the migration's", async () => {
    const { stored, raw, handle } = deploys()
    const cookie = await stored({ userId: 'ada', count: 3 })
    await handle(cookie, async (session) => {
      session.insert('counter', 10)
      await session.get('user')
      return new Response('ok')
    })
    expect(await raw(cookie)).toEqual({ user: { id: 'ada' }, counter: 10, '~version': 2 })
  })

  it('migrates before a write that never read the session, which stays a write-only request (no Vary: Cookie)', async () => {
    const { stored, raw, handle, migrations } = deploys()
    const cookie = await stored({ userId: 'ada', count: 3 })
    const response = await handle(cookie, (session) => {
      session.insert('counter', 4)
      return new Response('ok')
    })
    expect(response.headers.get('vary')).toBeNull()
    expect(migrations).toEqual([0])
    expect(await raw(cookie)).toEqual({ user: { id: 'ada' }, counter: 4, '~version': 2 })
  })

  it('files a new session under the current version without calling migrate', async () => {
    const { raw, handle, migrations } = deploys()
    const created = await handle(undefined, (session) => {
      session.insert('counter', 1)
      return new Response('ok')
    })
    const cookie = cookieHeader(created)
    expect(await raw(cookie)).toEqual({ counter: 1, '~version': 2 })
    await handle(cookie, async (session) => json(await session.get('counter')))
    expect(migrations).toEqual([])
  })

  it('keeps the version through clear(), and never stores an empty session for it', async () => {
    const { raw, handle } = deploys()
    const empty = await handle(undefined, async (session) => json(await session.entries()))
    expect(empty.headers.getSetCookie()).toEqual([])
    const cookie = cookieHeader(
      await handle(undefined, (session) => {
        session.insert('counter', 1)
        return new Response('ok')
      }),
    )
    await handle(cookie, (session) => {
      session.clear()
      session.insert('user', { id: 'bob' })
      return new Response('ok')
    })
    expect(await raw(cookie)).toEqual({ user: { id: 'bob' }, '~version': 2 })
  })

  it('refuses writes to the version key, naming the option', async () => {
    const { handle } = deploys()
    await handle(undefined, async (session) => {
      const untyped = session as unknown as Session<SessionData>
      expect(() => untyped.insert('~version', 1)).toThrow(SessionValueError)
      expect(() => untyped.insert('~version', 1)).toThrow(/version option/)
      expect(() => untyped.remove('~version')).toThrow(SessionValueError)
      expect(() => untyped.update('~version', () => 3)).toThrow(SessionValueError)
      return new Response('ok')
    })
  })

  it('reads a record of a newer version as it is, and leaves its version alone', async () => {
    const { stored, raw, handle, migrations } = deploys()
    const cookie = await stored({ counter: 5, '~version': 3 })
    const response = await handle(cookie, async (session) => {
      session.insert('counter', ((await session.get('counter')) ?? 0) + 1)
      return json(await session.entries())
    })
    expect(await response.json()).toEqual({ counter: 6 })
    expect(migrations).toEqual([])
    expect(await raw(cookie)).toEqual({ counter: 6, '~version': 3 })
  })

  it('checks the migrated data against the schema, and drops what it refuses instead of writing it forward', async () => {
    const { stored, raw, handle } = deploys({ schema: { user: v.object({ id: v.pipe(v.string(), v.minLength(2)) }), counter: v.number() } })
    const cookie = await stored({ userId: 'a', count: 3 })
    const response = await handle(cookie, async (session) => json(await session.entries()))
    expect(await response.json()).toEqual({ counter: 3 })
    expect(await raw(cookie)).toEqual({ counter: 3, '~version': 2 })
  })

  it("'drop': a migrate that throws logs why and the data reads as empty, cleared at the next write", async () => {
    const { stored, raw, handle, warnings } = deploys({
      migrate: () => {
        throw new Error('unknown shape')
      },
    })
    const cookie = await stored({ userId: 'ada' })
    const read = await handle(cookie, async (session) => json({ entries: await session.entries(), status: session.status }))
    expect(await read.json()).toEqual({ entries: {}, status: 'unchanged' })
    expect(warnings.join('\n')).toMatch(/migrate\(data, 0\) threw: unknown shape/)
    expect(await raw(cookie)).toEqual({ userId: 'ada' })
    await handle(cookie, async (session) => {
      await session.get('counter')
      session.insert('counter', 1)
      return new Response('ok')
    })
    expect(await raw(cookie)).toEqual({ counter: 1, '~version': 2 })
  })

  it("'error': a migrate that returns what JSON cannot carry makes reads throw a SessionSchemaError for the record", async () => {
    const { stored, handle } = deploys({ onInvalid: 'error', migrate: () => ({ counter: new Date() as unknown as number }) })
    const cookie = await stored({ count: 1 })
    const response = await handle(cookie, async (session) => {
      const error = await session.get('counter').catch((thrown: unknown) => thrown)
      return json({ record: error instanceof SessionSchemaError && error.record, message: (error as Error).message })
    })
    const body = (await response.json()) as { record: boolean; message: string }
    expect(body.record).toBe(true)
    expect(body.message).toMatch(/migrate\(data, 0\) returned a value JSON cannot carry/)
  })

  it('migrates a record carried by the cookie store, whose every write re-seals the cookie', async () => {
    const { stored, raw, handle } = deploys({}, new CookieStore())
    const cookie = await stored({ userId: 'ada', count: 1 })
    const response = await handle(cookie, async (session) => json(await session.get('user')))
    expect(await response.json()).toEqual({ id: 'ada' })
    expect(await raw(cookieHeader(response))).toEqual({ user: { id: 'ada' }, counter: 1, '~version': 2 })
  })
})
