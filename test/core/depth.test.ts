// Deeply nested values, over manager.handle with the real in-process stores: a value deeper than
// the documented limit is refused at the call with a SessionValueError, and a stored record deeper
// than it (written around insert, straight into the store) reads as no session, never a 500.
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import { CloakroomError, SessionValueError } from '../../src/core/errors.js'
import { MAX_VALUE_DEPTH } from '../../src/core/json-value.js'
import type { Session } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { cryptoProvider } from '../../src/crypto/node.js'
import { generateKey, keyBytes } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader, sessionCookie } from '../support/http.js'

type Handler = (session: Session) => Response | Promise<Response>

const MINUTE = 60_000

/** `levels` arrays or objects nested inside each other, around the number 1. */
function nested(levels: number, kind: 'array' | 'object' = 'object'): unknown {
  let value: unknown = 1
  for (let i = 0; i < levels; i++) value = kind === 'array' ? [value] : { x: value }
  return value
}

function setup(store: SessionStore = new MemoryStore()) {
  const debug: string[] = []
  const keys = [generateKey()]
  const manager = createSessionManager({ store, keys, logger: { debug: (line) => debug.push(line), warn: () => {}, error: () => {} } })
  const send = (handler: Handler, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  // The cookie the manager would issue for `id` (no absolute deadline): its sealed plaintext is `-.<id>`.
  const cookieFor = async (id: string): Promise<string> => {
    const sealer = await cryptoProvider.createSealer({ keys: keys.map(keyBytes), mode: 'private', cookieName: 'id' })
    return `id=${await sealer.seal(`-.${id}`)}`
  }
  return { send, cookieFor, debug }
}

/** Runs `write` in a route and answers with what it threw: its class and code, or "ok". */
const attempt =
  (write: (session: Session) => unknown): Handler =>
  async (session) => {
    try {
      await write(session)
      return Response.json({ thrown: 'ok' })
    } catch (error) {
      return Response.json({
        thrown: (error as Error).constructor.name,
        code: error instanceof CloakroomError ? error.code : null,
        message: (error as Error).message,
      })
    }
  }

const entries: Handler = async (session) => Response.json(await session.entries())

describe(`values are nested at most ${MAX_VALUE_DEPTH} levels deep`, () => {
  it('the limit is 64 levels', () => {
    expect(MAX_VALUE_DEPTH).toBe(64)
  })

  it('insert takes a value exactly 64 levels deep, and it reads back whole', async () => {
    const { send } = setup()
    const response = await send(attempt((session) => session.insert('deep', nested(64) as never)))
    expect(await response.json()).toEqual({ thrown: 'ok' })
    const read = await send(entries, cookieHeader(response))
    expect(await read.json()).toEqual({ deep: nested(64) })
  })

  for (const [name, value] of [
    ['an object 65 levels deep', nested(65)],
    ['an array 65 levels deep', nested(65, 'array')],
    ['valid JSON nested 10,000 deep (a RangeError before)', nested(10_000)],
    ['a value 65 levels deep inside a wide object', { a: 1, b: [2, 3], c: { d: nested(64) } }],
  ] as const) {
    it(`insert refuses ${name} with a SessionValueError naming the limit, and sets no cookie`, async () => {
      const { send } = setup()
      const response = await send(attempt((session) => session.insert('deep', value as never)))
      expect(response.status).toBe(200)
      const body = (await response.json()) as { thrown: string; code: string; message: string }
      expect(body).toMatchObject({ thrown: 'SessionValueError', code: 'INVALID_VALUE' })
      expect(body.message).toMatch(/nested more than 64 levels/)
      expect(sessionCookie(response)).toBeUndefined()
    })
  }

  it('update and updateOr refuse a result deeper than the limit and leave the value as it was', async () => {
    const { send } = setup()
    const cookie = cookieHeader(await send(attempt((session) => session.insert('deep', nested(3) as never))))
    const update = await send(attempt((session) => session.update('deep', () => nested(65) as never)), cookie)
    expect(await update.json()).toMatchObject({ thrown: 'SessionValueError' })
    const updateOr = await send(attempt((session) => session.updateOr('other', nested(10_000) as never, (old) => old)), cookie)
    expect(await updateOr.json()).toMatchObject({ thrown: 'SessionValueError' })
    expect(await (await send(entries, cookie)).json()).toEqual({ deep: nested(3) })
  })

  it('SessionValueError is what is thrown, for callers that branch on the class', async () => {
    const { send } = setup()
    let thrown: unknown
    await send((session) => {
      try {
        session.insert('deep', nested(100) as never)
      } catch (error) {
        thrown = error
      }
      return new Response('ok')
    })
    expect(thrown).toBeInstanceOf(SessionValueError)
    expect((thrown as SessionValueError).key).toBe('deep')
  })
})

describe('a stored record deeper than the limit is no session: 200, never a 500', () => {
  for (const levels of [65, 3_000]) {
    it(`memory store: a record written ${levels} levels deep straight through store.create reads as an empty session`, async () => {
      const store = new MemoryStore()
      const { send, cookieFor, debug } = setup(store)
      const id = await store.create({ data: { keep: 'me', deep: nested(levels) as never }, createdAt: Date.now(), absoluteExpiresAt: null }, MINUTE)
      const cookie = await cookieFor(id)
      const response = await send(entries, cookie)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({})
      expect(debug).toEqual([expect.stringMatching(/nested more than 64 levels/)])
      expect(debug.join('\n')).not.toContain(id)
    })
  }

  it('memory store: a record exactly at the limit still reads (the check is not off by one)', async () => {
    const store = new MemoryStore()
    const { send, cookieFor } = setup(store)
    const id = await store.create({ data: { deep: nested(64) as never }, createdAt: Date.now(), absoluteExpiresAt: null }, MINUTE)
    expect(await (await send(entries, await cookieFor(id))).json()).toEqual({ deep: nested(64) })
  })

  it('memory store: a write on such a session starts a new one instead of keeping the deep record', async () => {
    const store = new MemoryStore()
    const { send, cookieFor } = setup(store)
    const id = await store.create({ data: { deep: nested(200) as never }, createdAt: Date.now(), absoluteExpiresAt: null }, MINUTE)
    const cookie = await cookieFor(id)
    const response = await send(async (session) => {
      session.insert('counter', ((await session.get('counter')) as number | undefined) ?? 1)
      return new Response('ok')
    }, cookie)
    expect(response.status).toBe(200)
    const fresh = cookieHeader(response)
    expect(fresh).not.toBe(cookie)
    expect(await (await send(entries, fresh)).json()).toEqual({ counter: 1 })
  })

  it('cookie store: a sealed record nested 1,000 deep (within the 4096-byte cookie) reads as an empty session', async () => {
    const store = new CookieStore()
    const { send, cookieFor, debug } = setup(store)
    const id = await store.create({ data: { deep: nested(1_000, 'array') as never }, createdAt: Date.now(), absoluteExpiresAt: null }, MINUTE)
    const cookie = await cookieFor(id)
    expect(cookie.length).toBeLessThan(4096)
    const response = await send(entries, cookie)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({})
    expect(debug).toEqual([expect.stringMatching(/nested more than 64 levels/)])
  })
})
