import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from 'redis'
import { createSessionManager, generateKey } from '../../src/index.js'
import type { Json, SessionManager } from '../../src/index.js'
import { RedisStore } from '../../src/stores/redis/index.js'
import type { OpenClient } from '../support/redis-clients.js'
import { deletePrefix, dumpPrefix, openClient, uniquePrefix } from '../support/redis-clients.js'
import { redisAnswers } from '../support/redis-process.js'

// The request-level races and failures of RedisStore, through the fetch-level manager.
const CI = process.env.CI === 'true'
const up = await redisAnswers(6379)
const URL_ = 'https://app.test/'

function cookieOf(response: Response): string | null {
  const line = response.headers.getSetCookie().find((l) => l.startsWith('id='))
  return line === undefined ? null : line.slice(0, line.indexOf(';'))
}
function isRemoval(response: Response): boolean {
  const line = response.headers.getSetCookie().find((l) => l.startsWith('id=')) ?? ''
  return /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line)
}
const get = (cookie?: string) => new Request(URL_, cookie === undefined ? {} : { headers: { cookie } })

describe('RedisStore behind the session manager (fetch level)', () => {
  if (!up) {
    if (CI) {
      it('Redis at 127.0.0.1:6379 is available (required when CI=true)', () => {
        throw new Error('Redis at 127.0.0.1:6379 is missing')
      })
    } else {
      console.warn('\n!!!!!!!!\n!!! SKIPPING RedisStore HTTP-level tests: Redis at 127.0.0.1:6379 is missing\n!!!!!!!!\n')
    }
    return
  }

  const keys = [generateKey()]
  const prefix = uniquePrefix()
  let open: OpenClient
  let manager: SessionManager<Record<string, Json>>

  beforeAll(async () => {
    open = await openClient('node-redis', [6379])
    manager = createSessionManager<Record<string, Json>>({ store: new RedisStore({ client: open.client, prefix }), keys })
  })
  afterAll(async () => {
    await deletePrefix([6379], prefix)
    await open?.close()
  })

  async function login(): Promise<string> {
    const response = await manager.handle(get(), async (session) => {
      session.insert('user', 'ferris')
      return new Response('ok')
    })
    const cookie = cookieOf(response)
    expect(cookie).not.toBeNull()
    return cookie as string
  }

  it('two concurrent requests on one session that change different keys both land', async () => {
    const cookie = await login()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = manager.handle(get(cookie), async (session) => {
      await session.get('user')
      await gate
      session.insert('cart', [1])
      return new Response('a')
    })
    const fast = manager.handle(get(cookie), async (session) => {
      await session.get('user')
      session.insert('theme', 'dark')
      return new Response('b')
    })
    expect((await fast).status).toBe(200)
    release()
    expect((await slow).status).toBe(200)
    const read = await manager.handle(get(cookie), async (session) => Response.json(await session.entries()))
    expect(await read.json()).toEqual({ user: 'ferris', cart: [1], theme: 'dark' })
  })

  it('a purge that lands while another request is in its handler wins: nothing is recreated', async () => {
    const cookie = await login()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = manager.handle(get(cookie), async (session) => {
      expect(await session.get('user')).toBe('ferris')
      await gate
      session.insert('late', true)
      return new Response('slow')
    })
    const purge = await manager.handle(get(cookie), async (session) => {
      session.purge()
      return new Response('bye')
    })
    expect(isRemoval(purge)).toBe(true)
    release()
    const late = await slow
    expect(isRemoval(late)).toBe(true)
    const after = await manager.handle(get(cookie), async (session) => Response.json(await session.entries()))
    expect(await after.json()).toEqual({})
    expect(await dumpPrefix([6379], prefix)).not.toContain('late')
  })

  it('a store failure becomes an empty-bodied 500 with Cache-Control: no-store, even if the handler caught it', async () => {
    const cookie = await login()
    // Same prefix and keys, but a client that was never connected: every store call fails at once.
    const broken = createSessionManager<Record<string, Json>>({
      store: new RedisStore({ client: createClient({ url: 'redis://127.0.0.1:1' }), prefix, timeoutMs: 300 }),
      keys,
    })
    const response = await broken.handle(get(cookie), async (session) => {
      try {
        await session.get('user')
      } catch {
        return new Response('handler swallowed it')
      }
      return new Response('unreachable')
    })
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('')
    expect(response.headers.get('cache-control')).toContain('no-store')
  })
})
