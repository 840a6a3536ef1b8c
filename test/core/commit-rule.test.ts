// The commit rule at the fetch level (`manager.handle`): the response status decides, and a purge
// is never dropped, whatever the handler does after it. The adapters prove the same through the
// adapter conformance suite.
import { describe, expect, it } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import type { Session } from '../../src/core/session.js'
import { generateKey } from '../../src/crypto/keys.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { InstrumentedStore } from '../support/stores.js'

type Handler = (session: Session) => Response | Promise<Response>

function setup() {
  const store = new InstrumentedStore()
  const logged: string[] = []
  const manager = createSessionManager({ store, keys: [generateKey()], logger: { error: (message: string) => void logged.push(message) } })
  const send = (handler: Handler, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  return { store, send, logged }
}

async function loggedIn(send: ReturnType<typeof setup>['send']): Promise<string> {
  return cookieHeader(await send((session) => (session.insert('user', 'ferris'), new Response('ok'))))
}

const whoami: Handler = async (session) => new Response(String((await session.get('user')) ?? 'nobody'))

describe('manager.handle: a purge is never dropped', () => {
  it('a purge followed by a returned 503 deletes the record and sends the removal cookie', async () => {
    const { send, store } = setup()
    const cookie = await loggedIn(send)
    const response = await send((session) => (session.purge(), new Response('down', { status: 503 })), cookie)
    expect(response.status).toBe(503)
    expect(sessionCookie(response)?.maxAge).toBe(0)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(store.calls.delete).toBe(1)
    expect(await (await send(whoami, cookie)).text()).toBe('nobody')
  })

  it('a purge followed by a throw deletes the record before the error reaches the caller', async () => {
    const { send, store } = setup()
    const cookie = await loggedIn(send)
    const failure = new Error('guard refused')
    await expect(
      send((session) => {
        session.purge()
        throw failure
      }, cookie),
    ).rejects.toBe(failure)
    expect(store.calls.delete).toBe(1)
    expect(store.inFlight).toBe(0)
    expect(await (await send(whoami, cookie)).text()).toBe('nobody')
  })

  it('any other change followed by a throw is dropped, and the error still reaches the caller', async () => {
    const { send, store } = setup()
    const cookie = await loggedIn(send)
    const before = store.total()
    const failure = new Error('handler bug')
    await expect(
      send((session) => {
        session.insert('user', 'mallory')
        session.renew()
        throw failure
      }, cookie),
    ).rejects.toBe(failure)
    expect(store.total()).toBe(before)
    expect(await (await send(whoami, cookie)).text()).toBe('ferris')
  })

  it('a purge whose delete fails still lets the handler error reach the caller, and the failure is logged', async () => {
    const { send, store, logged } = setup()
    const cookie = await loggedIn(send)
    store.failing.add('delete')
    const failure = new Error('guard refused')
    await expect(
      send((session) => {
        session.purge()
        throw failure
      }, cookie),
    ).rejects.toBe(failure)
    expect(store.calls.delete).toBe(1)
    expect(logged).toHaveLength(1)
  })
})
