// Hostile and malformed input in the Cookie header, at the HTTP level (the OWASP Session Management
// Cheat Sheet's session-id handling, RFC 6265 §5.2 parsing): whatever arrives, the answer is "no
// session" (a fresh one on write), never a throw, a 500 or a leak.
import { describe, expect, it } from 'vitest'
import { cryptoProvider } from '../../src/crypto/node.js'
import { createSessionManager } from '../../src/create.js'
import type { SessionOptions } from '../../src/core/options.js'
import type { Session } from '../../src/core/session.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey, keyBytes } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader, sessionCookie } from '../support/http.js'
import { InstrumentedStore } from '../support/stores.js'

function setup(options: Partial<SessionOptions> = {}, inner: SessionStore = new MemoryStore()) {
  const logs: string[] = []
  const logger = { debug: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) }
  const store = new InstrumentedStore(inner)
  const keys = options.keys ?? [generateKey()]
  const manager = createSessionManager({ store, keys, logger, ...options })
  const send = (handler: (session: Session) => Response | Promise<Response>, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  return { send, store, logs, keys }
}

const counts = async (session: Session): Promise<Response> => {
  const counter = ((await session.get('counter')) ?? 0) as number
  session.insert('counter', counter + 1)
  return new Response(String(counter + 1))
}

async function sealAs(keys: string[], plaintext: string, mode: 'private' | 'signed' = 'private', cookieName = 'id'): Promise<string> {
  const sealer = await cryptoProvider.createSealer({ keys: keys.map(keyBytes), mode, cookieName })
  return sealer.seal(plaintext)
}

/** Expects `cookie` to mean "no session": the counter starts over and a new, different cookie is set. */
async function expectNoSession(send: ReturnType<typeof setup>['send'], cookieValue: string, name = 'id'): Promise<void> {
  const response = await send(counts, `${name}=${cookieValue}`)
  expect(response.status).toBe(200)
  expect(await response.text()).toBe('1')
  expect(sessionCookie(response)?.value).not.toBe(cookieValue)
}

describe('malformed and hostile cookie values', () => {
  const cases: [string, string][] = [
    ['an empty value', ''],
    ['"=" only', '='],
    ['a quoted value', '"e1.AAAAAAAA.AAAA"'],
    ['non-base64', 'e1.AAAAAAAA.!!!!****'],
    ['padded base64', 'e1.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='],
    ['the standard base64 alphabet', 'e1.AAAAAAAA.AAAA+AAAA/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['version v0', 'v0.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['version v9', 'v9.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a key id with path characters', 'e1.../../...AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an oversized key id', `e1.${'A'.repeat(500)}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`],
    ['no separator', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['separators only', '...'],
    ['a value of 5,000 characters', 'e1.AAAAAAAA.' + 'A'.repeat(5_000)],
    ['percent-encoding errors (item 33)', '%E0%A4%A'],
    ['a well-formed id of a server store, unsealed', 'q3J5b0hkTjlQbXVzVGFnM3lZQWJjZGVmZ2hpamtsbW4'],
  ]
  for (const [what, value] of cases) {
    it(`${what} means no session`, async () => {
      const { send, store } = setup()
      await expectNoSession(send, value)
      expect(store.calls.load).toBe(0)
    })
  }

  it('a sealed value with an unknown key id means no session', async () => {
    const { send } = setup()
    await expectNoSession(send, await sealAs([generateKey()], '-.some-id'))
  })

  for (const mode of ['private', 'signed'] as const) {
    it(`${mode}: every single-character change of a valid cookie means no session`, async () => {
      const { send } = setup({ contentSecurity: mode })
      const cookie = cookieHeader(await send(counts))
      const value = cookie.slice('id='.length)
      for (let i = 0; i < value.length; i += 3) {
        const replacement = value[i] === 'A' ? 'B' : 'A'
        await expectNoSession(send, value.slice(0, i) + replacement + value.slice(i + 1))
      }
    })

    it(`${mode}: a truncated cookie means no session`, async () => {
      const { send } = setup({ contentSecurity: mode })
      const value = cookieHeader(await send(counts)).slice('id='.length)
      for (const cut of [1, 2, 8, 16, 17, 43]) await expectNoSession(send, value.slice(0, -cut))
    })
  }

  it('signed: signature plus garbage, garbage plus signature, and a signed value in private mode mean no session', async () => {
    const signed = setup({ contentSecurity: 'signed' })
    const value = cookieHeader(await signed.send(counts)).slice('id='.length)
    await expectNoSession(signed.send, value + 'garbage')
    await expectNoSession(signed.send, value + '.garbage')
    await expectNoSession(signed.send, 'garbage.' + value)
    const privateMode = setup({ keys: signed.keys })
    await expectNoSession(privateMode.send, value)
  })
})

describe('valid seals that must still be refused', () => {
  it('a seal past its absolute deadline means no session, without a store call', async () => {
    const { send, store, keys } = setup()
    await expectNoSession(send, await sealAs(keys as string[], `${(Date.now() - 1000).toString(36)}.some-id`))
    expect(store.calls.load).toBe(0)
  })

  it('a seal with a non-numeric or missing deadline means no session', async () => {
    const { send, keys } = setup()
    await expectNoSession(send, await sealAs(keys as string[], 'zz!.some-id'))
    await expectNoSession(send, await sealAs(keys as string[], 'no-dot-at-all'))
    await expectNoSession(send, await sealAs(keys as string[], '.starts-with-dot'))
  })

  it('a seal for another cookie name means no session', async () => {
    const { send, keys } = setup()
    await expectNoSession(send, await sealAs(keys as string[], '-.some-id', 'private', 'other'))
  })

  it('cookie store: a seal holding invalid JSON means no session', async () => {
    const { send, keys } = setup({}, new CookieStore())
    await expectNoSession(send, await sealAs(keys as string[], '-.{not json'))
  })

  it('cookie store: deeply nested JSON (depth 10,000) is refused or read, never a crash', async () => {
    const { send, keys } = setup({}, new CookieStore())
    const deep = '['.repeat(10_000) + ']'.repeat(10_000)
    const record = `{"v":1,"d":{"x":${deep}},"c":0,"a":null,"e":${Date.now() + 60_000}}`
    const response = await send(async (session) => new Response(String(await session.has('x'))), `id=${await sealAs(keys as string[], `-.${record}`)}`)
    expect(response.status).toBe(200)
  })

  it('cookie store: __proto__ and constructor keys in a sealed record pollute nothing', async () => {
    const { send, keys } = setup({}, new CookieStore())
    const record = `{"v":1,"d":{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}},"c":0,"a":null,"e":${Date.now() + 60_000}}`
    const response = await send(
      async (session) => Response.json({ admin: ((await session.entries()) as Record<string, unknown>).admin ?? null }),
      `id=${await sealAs(keys as string[], `-.${record}`)}`,
    )
    expect(await response.json()).toEqual({ admin: null })
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })
})

describe('the Cookie header', () => {
  it('the first of two cookies with our name wins', async () => {
    const { send } = setup()
    const cookie = cookieHeader(await send(counts))
    expect(await (await send(counts, `${cookie}; id=other`)).text()).toBe('2')
    expect(await (await send(counts, `id=other; ${cookie}`)).text()).toBe('1')
  })

  it('a malformed unrelated cookie does not hide ours (unlike actix)', async () => {
    const { send } = setup()
    const cookie = cookieHeader(await send(counts))
    expect(await (await send(counts, `garbage; =novalue; a=%E0%A4%A; ${cookie}`)).text()).toBe('2')
  })

  it('200 cookies in a 32 KB header: ours is still found, and quickly', async () => {
    const { send } = setup()
    const cookie = cookieHeader(await send(counts))
    const noise = Array.from({ length: 200 }, (_, i) => `c${i}=${'x'.repeat(150)}`).join('; ')
    const started = performance.now()
    expect(await (await send(counts, `${noise}; ${cookie}`)).text()).toBe('2')
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  it('U+00A0 before the name is not trimmed: "\\u00a0__Host-id=evil; __Host-id=good" reads good', async () => {
    const { send } = setup({ cookie: { name: '__Host-id' } })
    const good = cookieHeader(await send(counts), '__Host-id')
    expect(await (await send(counts, `\u00a0__Host-id=evil; ${good}`)).text()).toBe('2')
  })

  it('"..Host-id" and "__host-id" are never read as __Host-id', async () => {
    const { send } = setup({ cookie: { name: '__Host-id' } })
    const good = cookieHeader(await send(counts), '__Host-id').slice('__Host-id='.length)
    expect(await (await send(counts, `..Host-id=${good}`)).text()).toBe('1')
    expect(await (await send(counts, `__host-id=${good}`)).text()).toBe('1')
  })

  for (const name of ['__proto__', 'hasOwnProperty', 'constructor']) {
    it(`a cookie named ${name} works as our name and is not confused with an object property`, async () => {
      const { send } = setup({ cookie: { name } })
      expect(await (await send(counts, 'other=1')).text()).toBe('1')
      const cookie = cookieHeader(await send(counts), name)
      expect(await (await send(counts, cookie)).text()).toBe('2')
    })
  }
})

describe('no secret in any log line or error message (item 40)', () => {
  it('across creation, reads, forgeries, a renew, a purge and a store outage', async () => {
    const spy = setup({}, new MemoryStore())
    const { store, keys } = spy
    const secrets: string[] = [...keys as string[]]
    const first = cookieHeader(await spy.send(counts))
    secrets.push(first.slice(3))
    const opened = await (await cryptoProvider.createSealer({ keys: (keys as string[]).map(keyBytes), mode: 'private', cookieName: 'id' })).open(first.slice(3))
    secrets.push(opened!.plaintext.slice(opened!.plaintext.indexOf('.') + 1))
    await spy.send(counts, first)
    await spy.send(counts, `id=${first.slice(3, -2)}xx`)
    const renewed = cookieHeader(await spy.send((session) => (session.renew(), new Response('ok')), first))
    secrets.push(renewed.slice(3))
    await spy.send(counts, first)
    store.failing.add('load')
    await spy.send(counts, renewed)
    store.failing.clear()
    await spy.send((session) => (session.purge(), new Response('ok')), renewed)
    const lines = spy.logs
    expect(lines.length).toBeGreaterThanOrEqual(2)
    for (const line of lines) {
      for (const secret of secrets) expect(line).not.toContain(secret)
    }
  })
})
