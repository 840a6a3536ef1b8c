// The parts of cloakroom/next that need no Next.js server: the read-only session of server
// components, the reading of Next's control-flow errors, and the cookie handed to cookies().set().
// The adapter itself runs in a real Next.js app in test/next/next.test.ts.
import { describe, expect, it } from 'vitest'
import { cookieOfLine } from '../../src/adapters/next/cookie-jar.js'
import { nextSessions, SessionReadOnlyError } from '../../src/adapters/next/index.js'
import { nextAnswerOf } from '../../src/adapters/next/next-errors.js'
import { readOnlySession } from '../../src/adapters/next/read-only.js'
import { ConfigError } from '../../src/core/errors.js'
import { createSessionManager } from '../../src/create.js'
import { generateKey } from '../../src/crypto/keys.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

describe('the read-only session of a server component', () => {
  async function stored(): Promise<{ manager: ReturnType<typeof createSessionManager<{ user?: string }>>; cookie: string }> {
    const manager = createSessionManager<{ user?: string }>({ store: new MemoryStore(), keys: [generateKey()] })
    const response = await manager.handle(new Request('http://localhost/'), (session) => (session.insert('user', 'ferris'), new Response('ok')))
    return { manager, cookie: (response.headers.getSetCookie()[0] ?? '').split(';')[0] as string }
  }

  it('reads what the store holds', async () => {
    const { manager, cookie } = await stored()
    const session = readOnlySession(manager.begin(cookie))
    expect(await session.get('user')).toBe('ferris')
    expect(await session.has('user')).toBe(true)
    expect(await session.entries()).toEqual({ user: 'ferris' })
    expect(session.status).toBe('unchanged')
  })

  it('refuses every change at the call, un-awaited async ones included, and leaves the session unchanged', async () => {
    const { manager, cookie } = await stored()
    const inner = manager.begin(cookie)
    const session = readOnlySession(inner)
    const changes: [string, () => unknown][] = [
      ['insert', () => session.insert('user', 'corro')],
      ['update', () => void session.update('user', (user) => user)],
      ['updateOr', () => void session.updateOr('user', 'x', (user) => user)],
      ['remove', () => void session.remove('user')],
      ['clear', () => session.clear()],
      ['renew', () => session.renew()],
      ['purge', () => session.purge()],
      ['revokeOtherUserSessions', () => void session.revokeOtherUserSessions()],
    ]
    for (const [call, change] of changes) {
      let thrown: unknown
      try {
        change()
      } catch (error) {
        thrown = error
      }
      expect(thrown, call).toBeInstanceOf(SessionReadOnlyError)
      expect((thrown as SessionReadOnlyError).code).toBe('SESSION_READ_ONLY')
      expect((thrown as SessionReadOnlyError).message).toContain(`session.${call}()`)
      expect((thrown as SessionReadOnlyError).message).toMatch(/server action .*route handler/)
    }
    expect(inner.status).toBe('unchanged')
    expect(manager.pending(inner)).toBe(false)
    expect(await session.get('user')).toBe('ferris')
  })
})

describe("Next.js's control-flow errors, read by their digest", () => {
  it('a redirect is an answer with its status and target (a target may hold ";")', () => {
    expect(nextAnswerOf(Object.assign(new Error('NEXT_REDIRECT'), { digest: 'NEXT_REDIRECT;replace;/account?a=1;b=2;307;' }))).toEqual({
      status: 307,
      location: '/account?a=1;b=2',
    })
    expect(nextAnswerOf({ digest: 'NEXT_REDIRECT;push;/x;308;' })).toEqual({ status: 308, location: '/x' })
  })

  it('notFound(), forbidden() and unauthorized() are answers with their status', () => {
    expect(nextAnswerOf({ digest: 'NEXT_HTTP_ERROR_FALLBACK;404' })).toEqual({ status: 404 })
    expect(nextAnswerOf({ digest: 'NEXT_HTTP_ERROR_FALLBACK;401' })).toEqual({ status: 401 })
    expect(nextAnswerOf({ digest: 'NEXT_NOT_FOUND' })).toEqual({ status: 404 })
  })

  it('anything else is a failure', () => {
    for (const thrown of [new Error('boom'), { digest: '1195620721' }, { digest: 42 }, 'NEXT_REDIRECT', null, undefined]) {
      expect(nextAnswerOf(thrown)).toBeUndefined()
    }
  })
})

describe('the cookie handed to cookies().set()', () => {
  it('carries every attribute of the Set-Cookie line cloakroom rendered', () => {
    expect(cookieOfLine('id=e1.abc; Max-Age=60; Domain=example.com; Path=/app; HttpOnly; Secure; SameSite=Strict; Partitioned')).toEqual({
      name: 'id',
      value: 'e1.abc',
      maxAge: 60,
      domain: 'example.com',
      path: '/app',
      httpOnly: true,
      secure: true,
      sameSite: 'strict',
      partitioned: true,
    })
  })

  it('keeps the removal line a removal: empty value, Max-Age=0 and an Expires in 1970', () => {
    const removal = cookieOfLine('id=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax')
    expect(removal).toMatchObject({ name: 'id', value: '', maxAge: 0, path: '/', sameSite: 'lax' })
    expect(removal.expires?.getTime()).toBe(0)
  })
})

describe('nextSessions options', () => {
  it('checks the session options at creation, and cookies must be a function', () => {
    expect(() => nextSessions({ store: new MemoryStore(), keys: ['short'] })).toThrow(ConfigError)
    expect(() => nextSessions({ store: new MemoryStore(), keys: [generateKey()], cookies: 'yes' as never })).toThrow(/cookies must be the cookies function of next\/headers/)
  })

  it('read() and write() without the cookies option say what to pass', async () => {
    const sessions = nextSessions({ store: new MemoryStore(), keys: [generateKey()] })
    await expect(sessions.read()).rejects.toThrow(/pass it to nextSessions\(\{ \.\.\., cookies \}\)/)
    await expect(sessions.write(() => undefined)).rejects.toThrow(ConfigError)
  })
})
