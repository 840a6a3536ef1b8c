import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessionManager, generateKey } from '../../src/index.js'
import type { Json, SessionManager } from '../../src/index.js'
import { PostgresStore } from '../../src/stores/postgres/index.js'
import { findTestPostgres, openTestSchema } from '../support/postgres.js'
import type { TestSchema } from '../support/postgres.js'

// The request-level races and failures of PostgresStore, through the fetch-level manager.
const env = await findTestPostgres()
const URL_ = 'https://app.test/'

function cookieOf(response: Response): string | null {
  const line = response.headers.getSetCookie().find((l) => l.startsWith('id='))
  return line === undefined ? null : line.slice(0, line.indexOf(';'))
}
function isRemoval(response: Response): boolean {
  const line = response.headers.getSetCookie().find((l) => l.startsWith('id=')) ?? ''
  return /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line)
}
const get = (cookie?: string): Request => new Request(URL_, cookie === undefined ? {} : { headers: { cookie } })

describe.skipIf(!env)('PostgresStore behind the session manager (fetch level)', () => {
  const keys = [generateKey()]
  let run: TestSchema
  let table: string
  let manager: SessionManager<Record<string, Json>>

  beforeAll(async () => {
    run = await openTestSchema(env!)
    table = run.freshTable()
    const store = new PostgresStore({ pool: run.pool, schema: run.schema, table })
    await store.migrate()
    manager = createSessionManager<Record<string, Json>>({ store, keys })
  })
  afterAll(async () => {
    await run?.drop()
  })

  async function login(): Promise<string> {
    const response = await manager.handle(get(), async (session) => {
      session.insert('user', 'ada')
      return new Response('ok')
    })
    const cookie = cookieOf(response)
    expect(cookie).not.toBeNull()
    return cookie as string
  }

  async function tableText(): Promise<string> {
    const { rows } = await run.pool.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${run.schema}"."${table}" t`)
    return rows.map((r) => r.row).join('\n')
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
    expect(await read.json()).toEqual({ user: 'ada', cart: [1], theme: 'dark' })
  })

  it('a purge that lands while another request is in its handler wins: nothing is recreated', async () => {
    const cookie = await login()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = manager.handle(get(cookie), async (session) => {
      expect(await session.get('user')).toBe('ada')
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
    expect(isRemoval(await slow)).toBe(true)
    const after = await manager.handle(get(cookie), async (session) => Response.json(await session.entries()))
    expect(await after.json()).toEqual({})
    expect(await tableText()).not.toContain('late')
  })

  it('a purge with the old cookie right after a renew ends the renewed session too', async () => {
    const cookie = await login()
    const renewed = await manager.handle(get(cookie), async (session) => {
      session.renew()
      return new Response('renewed')
    })
    const newCookie = cookieOf(renewed)
    expect(newCookie).not.toBeNull()
    expect(newCookie).not.toBe(cookie)
    await manager.handle(get(cookie), async (session) => {
      session.purge()
      return new Response('bye')
    })
    const after = await manager.handle(get(newCookie!), async (session) => Response.json(await session.entries()))
    expect(await after.json()).toEqual({})
  })

  it('a store failure becomes an empty-bodied 500 with Cache-Control: no-store, even if the handler caught it', async () => {
    const cookie = await login()
    // Same table and keys, but a pool whose server is not there: every store call fails at once.
    const pool = new pg.Pool({ host: '127.0.0.1', port: 1, user: 'nobody', database: 'none' })
    pool.on('error', () => {})
    const broken = createSessionManager<Record<string, Json>>({
      store: new PostgresStore({ pool, schema: run.schema, table, timeoutMs: 300 }),
      keys,
    })
    try {
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
    } finally {
      await pool.end()
    }
  })
})
