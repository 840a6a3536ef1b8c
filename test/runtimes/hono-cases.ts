import { Hono, type Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { getSession, sessions } from '../../src/adapters/hono/index.js'
import { CookieStore, MemoryStore, type Json, type SessionOptions } from '../../src/index.js'
import { defineAdapterConformance, type AdapterHarness, type AppRoute, type RouteResult } from '../../src/testing/adapter-conformance.js'
import assert from './assert.js'
import { KEY_A, silent } from './fixtures.js'
import type { PortableApi } from './portable-api.js'

async function jsonBody(request: Request): Promise<Json | undefined> {
  if (request.method !== 'POST' || !(request.headers.get('content-type') ?? '').includes('json')) return undefined
  return (await request.json()) as Json
}

function render(c: Context, result: RouteResult): Response {
  if (result.throwStatus !== undefined) throw new HTTPException(result.throwStatus as ContentfulStatusCode)
  const status = (result.status ?? 200) as 200
  if (result.redirect !== undefined) return c.redirect(result.redirect, 302)
  if (result.json !== undefined) return c.json(result.json, status)
  return c.text(result.text ?? '', status)
}

// In-process through `app.request`: the only way in that every runtime offers, workerd included.
const inProcess: AdapterHarness = {
  name: 'hono (app.request)',
  start: async (options: SessionOptions, routes: AppRoute[]) => {
    const app = new Hono()
    app.use(sessions(options))
    for (const route of routes) {
      app.on(route.method, route.path, async (c) => render(c, await route.handler(c.get('session'), await jsonBody(c.req.raw))))
    }
    return { fetch: async (request) => app.request(request), close: async () => {} }
  },
}

let keyCounter = 0
// A distinct secret per app, as the conformance suite expects, without depending on a key generator.
const makeKey = (): string => `${KEY_A} #${++keyCounter}`

/**
 * The adapter conformance suite (actix's acceptance scenarios and the response rules in the README)
 * through the Hono middleware with both in-process stores, plus the Hono-specific header merges.
 *
 * @example
 * ```ts
 * defineHonoCases(runner.api)
 * ```
 */
export function defineHonoCases(api: PortableApi): void {
  const stores = [
    { name: 'memory', make: () => new MemoryStore() },
    { name: 'cookie', make: () => new CookieStore() },
  ]
  defineAdapterConformance({ test: api, harness: inProcess, stores, makeKey })

  api.describe('hono adapter specifics', () => {
    api.it("keeps the handler's own Set-Cookie next to the session cookie (Hono's c.res merge)", async () => {
      const app = new Hono()
      app.use(sessions({ store: new MemoryStore(), keys: [KEY_A], logger: silent }))
      app.get('/', (c) => {
        c.get('session').insert('a', 1)
        c.header('set-cookie', 'theme=dark', { append: true })
        return c.text('ok')
      })
      const names = (await app.request('/')).headers.getSetCookie().map((line) => line.split('=')[0])
      assert.deepEqual(names.sort(), ['id', 'theme'])
    })

    api.it('a handler that throws commits by the status app.onError renders: 418 commits, 500 does not', async () => {
      const app = new Hono()
      app.use(sessions({ store: new MemoryStore(), keys: [KEY_A], logger: silent }))
      app.get('/', (c) => {
        c.get('session').insert('a', 1)
        throw new Error(c.req.query('answer') ?? '500')
      })
      app.onError((error, c) => c.text(`handled: ${error.message}`, Number(error.message) as 418 | 500))
      const failed = await app.request('/?answer=500')
      assert.equal(failed.status, 500)
      assert.deepEqual(failed.headers.getSetCookie(), [])
      const handled = await app.request('/?answer=418')
      assert.equal(handled.status, 418)
      assert.equal(handled.headers.getSetCookie().filter((line) => line.startsWith('id=')).length, 1)
    })

    api.it('getSession(c) is the session of c.get("session")', async () => {
      const app = new Hono()
      app.use(sessions({ store: new MemoryStore(), keys: [KEY_A], logger: silent }))
      app.get('/', (c) => c.text(String(getSession(c) === c.get('session'))))
      assert.equal(await (await app.request('/')).text(), 'true')
    })

    api.it('serves a streamed body with the session cookie', async () => {
      const app = new Hono()
      app.use(sessions({ store: new CookieStore(), keys: [KEY_A], logger: silent }))
      app.get('/', (c) => {
        c.get('session').insert('a', 1)
        const encoder = new TextEncoder()
        return c.body(
          new ReadableStream({
            start(controller) {
              controller.enqueue(encoder.encode('chunk1 '))
              controller.enqueue(encoder.encode('chunk2'))
              controller.close()
            },
          }),
        )
      })
      const response = await app.request('/')
      assert.match(response.headers.getSetCookie()[0] ?? '', /^id=/)
      assert.equal(await response.text(), 'chunk1 chunk2')
    })
  })
}
