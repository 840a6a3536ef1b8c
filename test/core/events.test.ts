// Lifecycle events at the manager (`manager.handle`), with a clock the test controls.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import type { SessionEventMap } from '../../src/core/events.js'
import type { Session } from '../../src/core/session.js'
import { generateKey } from '../../src/crypto/keys.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader } from '../support/http.js'

type Handler = (session: Session) => Response | Promise<Response>
const ok = (): Response => new Response('ok')

afterEach(() => {
  vi.useRealTimers()
})

function setup(options: Parameters<typeof createSessionManager>[0] extends infer O ? Partial<O> : never = {}) {
  const manager = createSessionManager({ store: new MemoryStore(), keys: [generateKey()], ...options })
  const send = (handler: Handler, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  return { manager, send }
}

describe('lifecycle events', () => {
  it("expired: 'idle' when a write finds the record gone, 'absolute' when the absolute timeout refuses the cookie", async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
    const expired: SessionEventMap['expired'][] = []
    const { manager, send } = setup({ lifecycle: { type: 'browser', stateTtl: 60 }, absoluteTimeout: 600 })
    manager.on('expired', (event) => void expired.push(event))
    const idle = cookieHeader(await send((session) => (session.insert('n', 1), ok())))
    vi.setSystemTime(Date.now() + 61_000)
    await send((session) => (session.insert('n', 2), ok()), idle)
    const old = cookieHeader(await send((session) => (session.insert('n', 1), ok())))
    for (let i = 0; i < 11; i++) {
      vi.setSystemTime(Date.now() + 55_000)
      await send(async (session) => (await session.update('n', (n) => (n as number) + 1), ok()), old)
    }
    expect(expired.map((event) => event.cause)).toEqual(['idle', 'absolute'])
  })

  it('manager.on returns a function that stops listening', async () => {
    const { manager, send } = setup()
    const created: unknown[] = []
    const stop = manager.on('created', (event) => void created.push(event))
    await send((session) => (session.insert('n', 1), ok()))
    stop()
    await send((session) => (session.insert('n', 1), ok()))
    expect(created).toHaveLength(1)
  })

  it('a listener that throws is logged and the request still succeeds', async () => {
    const errors: string[] = []
    const { send } = setup({
      events: {
        created: () => {
          throw new Error('listener bug')
        },
      },
      logger: { error: (message) => void errors.push(message) },
    })
    const response = await send((session) => (session.insert('n', 1), ok()))
    expect(response.status).toBe(200)
    expect(cookieHeader(response)).toMatch(/^id=/)
    expect(errors).toEqual([expect.stringMatching(/a 'created' event listener threw \(Error: listener bug\)/)])
  })

  it('created and renewed carry the user of a filed session (userKey), purged carries none', async () => {
    const seen: string[] = []
    const { send } = setup({
      userKey: 'userId',
      events: {
        created: (event) => void seen.push(`created:${event.userId ?? '-'}`),
        renewed: (event) => void seen.push(`renewed:${event.userId ?? '-'}`),
        purged: (event) => void seen.push(`purged:${JSON.stringify(Object.keys(event))}`),
      },
    })
    const anonymous = cookieHeader(await send((session) => (session.insert('cart', 1), ok())))
    const signedIn = cookieHeader(await send((session) => (session.insert('userId', 'ferris'), session.renew(), ok()), anonymous))
    await send((session) => (session.purge(), ok()), signedIn)
    expect(seen).toEqual(['created:-', 'renewed:ferris', 'purged:["at"]'])
  })

  it('refuses unknown event names and non-function listeners at start-up', () => {
    expect(() => setup({ events: { create: () => {} } as never })).toThrow(/unknown option events\.create/)
    expect(() => setup({ events: { created: 'yes' } as never })).toThrow(/events\.created must be a function/)
  })
})
