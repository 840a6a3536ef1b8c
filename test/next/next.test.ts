// cloakroom/next in a real Next.js app (this folder): built with `next build`, served by
// `next start` on a loopback port, driven over HTTP for each guarantee of the adapter conformance
// suite that applies to Next.js, and in headless Chromium for a login through a server action.
//
// The conformance suite's cases, and where each is here (route handlers run every one; server
// actions those a form can reach):
// - basic_workflow, Max-Age on changes, refresh on every request: "cookie attributes" below.
// - complex_workflow (counter, login renews, an old cookie replayed, logout), renew, forged cookie,
//   untouched session, exact default attributes: per store (memory, cookie) and mode (private, signed).
// - redirect after login, 5xx commits nothing, purge wins over 503 / a thrown error / a thrown 401,
//   a thrown 401 (unauthorized()) or 404 (notFound()) commits: "response rules".
// - store failure (empty 500, no detail) and onStoreError 'anonymous': "store failures".
// Not here: a user's devices (core behaviour, the same through every adapter). And a purge followed by
// a plain error thrown from a route handler deletes the record but cannot clear the cookie: Next.js
// answers that 500 itself and drops every header of the handler (as `manager.handle()` does).
//
// Without the app's package (`npm --prefix test/next ci`) the file is skipped loudly, and the login in
// Chromium without /usr/bin/chromium or playwright-core's package (`npm --prefix test/browser ci`);
// under CI=true each fails instead. The build takes a few minutes on a busy two-core machine (hence
// the hook's guard).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { SetCookie } from 'cookie'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../../src/crypto/keys.js'
import { findBrowser, launchChromium, type Browser } from '../browser/kit.js'
import { waitFor } from '../support/wait.js'
import { client, cookiesNamed, mustCookie, type Client } from './http.js'
import { APP_DIR, buildNextApp, findNextApp, startNextApp, type RunningNextApp } from './next-app.js'

const installed = findNextApp('the Next.js adapter tests (test/next)')
const inBrowser = installed && findBrowser('the Next.js app in Chromium (test/next)')
const BUILD_GUARD_MS = 15 * 60_000

describe.skipIf(!installed)('cloakroom/next in a Next.js app (next build, next start)', () => {
  let app: RunningNextApp | undefined
  let http: Client

  beforeAll(async () => {
    const env = { ...process.env, SESSION_KEY: generateKey(), NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' }
    await buildNextApp(env)
    app = await startNextApp(env)
    http = client(app.base)
  }, BUILD_GUARD_MS)

  afterAll(async () => {
    await app?.close()
  })

  type Counter = { user_id: string | null; counter: number }
  const counterOf = async (response: Response): Promise<Counter> => (await response.json()) as Counter

  describe('route handlers (sessions.route)', () => {
    for (const store of ['memory', 'cookie'] as const) {
      for (const mode of ['private', 'signed'] as const) {
        const base = `/r/${store}-${mode}`
        const canInvalidate = store === 'memory'

        describe(`${store} store, ${mode}`, () => {
          it('complex_workflow: counter, login (renew), replay of an old cookie, logout (purge)', async () => {
            const r1 = await http.get(`${base}/counter`)
            expect(r1.headers.getSetCookie()).toEqual([])
            expect(await counterOf(r1)).toEqual({ user_id: null, counter: 0 })

            const r2 = await http.post(`${base}/do_something`)
            expect(await counterOf(r2)).toEqual({ user_id: null, counter: 1 })
            const c1 = mustCookie(r2)

            const r3 = await http.get(`${base}/counter`, c1)
            expect(r3.headers.getSetCookie()).toEqual([])
            expect(await counterOf(r3)).toEqual({ user_id: null, counter: 1 })

            const r4 = await http.post(`${base}/do_something`, { cookie: c1 })
            expect(await counterOf(r4)).toEqual({ user_id: null, counter: 2 })
            // A browser-lifetime cookie naming the same record is not sent again; the cookie store's is.
            const c2 = cookiesNamed(r4, 'id')[0] ?? c1
            if (store === 'cookie') expect(c2.value).not.toBe(c1.value)

            const r5 = await http.post(`${base}/login`, { cookie: c2, json: { user_id: 'ferris' } })
            const c3 = mustCookie(r5)
            expect(c3.value).not.toBe(c2.value)
            expect(await counterOf(r5)).toEqual({ user_id: 'ferris', counter: 2 })
            expect(await counterOf(await http.get(`${base}/counter`, c3))).toEqual({ user_id: 'ferris', counter: 2 })

            const r7 = await http.post(`${base}/do_something`, { cookie: c3 })
            expect(await counterOf(r7)).toEqual({ user_id: 'ferris', counter: 3 })
            const c4 = cookiesNamed(r7, 'id')[0] ?? c3

            // The cookie from before the login: dead where the store can invalidate.
            const r8 = await http.get(`${base}/counter`, c2)
            expect(await counterOf(r8)).toEqual(canInvalidate ? { user_id: null, counter: 0 } : { user_id: null, counter: 2 })

            const r9 = await http.post(`${base}/logout`, { cookie: c4 })
            expect(await r9.text()).toBe('Welcome ferris!')
            const removal = mustCookie(r9)
            expect(removal).toMatchObject({ value: '', maxAge: 0, path: '/' })
            expect(r9.headers.get('cache-control')).toBe('no-store')
            expect(await counterOf(await http.get(`${base}/counter`, removal))).toEqual({ user_id: null, counter: 0 })
            if (canInvalidate) expect(await counterOf(await http.get(`${base}/counter`, c4))).toEqual({ user_id: null, counter: 0 })
          })

          it('an untouched session gets no Set-Cookie, no Cache-Control and no Vary: Cookie', async () => {
            const cookie = mustCookie(await http.post(`${base}/do_something`))
            const response = await http.get(`${base}/untouched`, cookie)
            expect(await response.text()).toBe('hello')
            expect(response.headers.getSetCookie()).toEqual([])
            expect(response.headers.get('cache-control')).toBeNull()
            // Next.js varies its own responses on its router headers; never on the cookie here.
            expect(response.headers.get('vary') ?? '').not.toMatch(/cookie/i)
          })

          it('a new session cookie has exactly the default attributes, with no-store and Vary: Cookie', async () => {
            const response = await http.post(`${base}/do_something`)
            const line = response.headers.getSetCookie().find((candidate) => candidate.startsWith('id='))
            expect(line).toMatch(/^id=[A-Za-z0-9_.-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
            expect(response.headers.get('cache-control')).toBe('no-store')
            expect(response.headers.get('vary')).toMatch(/cookie/i)
          })

          it('a forged cookie gets a fresh session, never the forged value', async () => {
            const forged = `${mode === 'private' ? 'e1' : 's1'}.AAAAAAAA.${'A'.repeat(60)}`
            const response = await http.post(`${base}/do_something`, { cookie: `id=${forged}` })
            expect(await counterOf(response)).toEqual({ user_id: null, counter: 1 })
            expect(mustCookie(response).value).not.toBe(forged)
          })
        })
      }
    }

    describe('cookie attributes', () => {
      it('basic_workflow: the configured name, path and domain, Max-Age on every change, and the next request reads the value', async () => {
        const first = await http.post('/r/custom/do_something')
        const cookie = mustCookie(first, 'actix-test')
        expect(cookie).toMatchObject({ path: '/r/', domain: 'example.com', maxAge: 60, httpOnly: true, secure: true, sameSite: 'lax' })
        expect(await counterOf(await http.get('/r/custom/counter', cookie))).toEqual({ user_id: null, counter: 1 })
        const again = await http.post('/r/custom/do_something', { cookie })
        expect(mustCookie(again, 'actix-test').maxAge).toBe(60)
        expect((await http.get('/r/custom/untouched', cookie)).headers.getSetCookie()).toEqual([])
      })

      it('purge sends the removal cookie with the configured path, domain and attributes', async () => {
        const cookie = mustCookie(await http.post('/r/custom/login', { json: { user_id: 'ferris' } }), 'actix-test')
        const removal = mustCookie(await http.post('/r/custom/logout', { cookie }), 'actix-test')
        expect(removal).toMatchObject({ value: '', maxAge: 0, path: '/r/', domain: 'example.com', httpOnly: true, secure: true, sameSite: 'lax' })
      })

      it("extendOn 'every-request': a request that does not touch the session still refreshes the cookie", async () => {
        const cookie = mustCookie(await http.post('/r/every/do_something'))
        const untouched = await http.get('/r/every/untouched', cookie)
        expect(mustCookie(untouched).maxAge).toBe(60)
        expect(untouched.headers.get('cache-control')).toBe('no-store')
      })
    })

    describe('response rules', () => {
      const base = '/r/memory-private'

      async function loggedIn(): Promise<SetCookie> {
        const cookie = mustCookie(await http.post(`${base}/login`, { json: { user_id: 'ferris' } }))
        expect(await counterOf(await http.get(`${base}/counter`, cookie))).toEqual({ user_id: 'ferris', counter: 0 })
        return cookie
      }

      async function expectLoggedOut(response: Response, cookie: SetCookie): Promise<void> {
        expect(mustCookie(response)).toMatchObject({ value: '', maxAge: 0 })
        expect(response.headers.get('cache-control')).toBe('no-store')
        expect(await counterOf(await http.get(`${base}/counter`, cookie))).toEqual({ user_id: null, counter: 0 })
      }

      for (const [route, status] of [
        ['login-redirect', 307],
        ['login-redirect-returned', 302],
      ] as const) {
        it(`a redirect right after login (${route === 'login-redirect' ? 'a thrown redirect()' : 'a returned Response.redirect()'}) carries the new cookie, and the record exists when the redirect arrives`, async () => {
          const response = await http.post(`${base}/${route}`)
          expect(response.status).toBe(status)
          expect(response.headers.get('location')).toMatch(/\/r\/memory-private\/counter$/)
          expect(response.headers.get('cache-control')).toBe('no-store')
          const cookie = mustCookie(response)
          expect(await counterOf(await http.get(`${base}/counter`, cookie))).toEqual({ user_id: 'ferris', counter: 0 })
        })
      }

      it('a response with status 500 or more commits nothing', async () => {
        const response = await http.post(`${base}/fail-after-insert`)
        expect(response.status).toBe(503)
        expect(response.headers.getSetCookie()).toEqual([])
      })

      it('a purge followed by a returned 503 still logs out', async () => {
        const cookie = await loggedIn()
        const response = await http.post(`${base}/logout-then-503`, { cookie })
        expect(response.status).toBe(503)
        await expectLoggedOut(response, cookie)
      })

      it('a purge followed by a thrown unauthorized() (401) still logs out', async () => {
        const cookie = await loggedIn()
        const response = await http.post(`${base}/logout-then-401`, { cookie })
        expect(response.status).toBe(401)
        await expectLoggedOut(response, cookie)
      })

      it('a purge followed by a thrown plain error (500) still deletes the record', async () => {
        const cookie = await loggedIn()
        const response = await http.post(`${base}/logout-then-throw`, { cookie })
        expect(response.status).toBe(500)
        expect(await counterOf(await http.get(`${base}/counter`, cookie))).toEqual({ user_id: null, counter: 0 })
      })

      it('an insert followed by a thrown plain error (500) commits nothing', async () => {
        const cookie = await loggedIn()
        const response = await http.post(`${base}/insert-then-throw`, { cookie })
        expect(response.status).toBe(500)
        expect(response.headers.getSetCookie()).toEqual([])
        expect(await counterOf(await http.get(`${base}/counter`, cookie))).toEqual({ user_id: 'ferris', counter: 0 })
      })

      for (const [route, status, counter] of [
        ['insert-then-401', 401, 7],
        ['insert-then-404', 404, 8],
      ] as const) {
        it(`an insert followed by a thrown ${status === 401 ? 'unauthorized()' : 'notFound()'} commits, as a returned ${status} would`, async () => {
          const cookie = await loggedIn()
          const response = await http.post(`${base}/${route}`, { cookie })
          expect(response.status).toBe(status)
          const next = cookiesNamed(response, 'id')[0] ?? cookie
          expect(await counterOf(await http.get(`${base}/counter`, next))).toEqual({ user_id: 'ferris', counter })
        })
      }
    })

    describe('store failures', () => {
      const breakStore = async (profile: string, broken: boolean): Promise<void> => {
        expect((await http.post('/test/outage', { json: { profile, broken } })).status).toBe(204)
      }

      it('a store failure gives an empty-bodied 500 with no-store, and no detail reaches the client', async () => {
        const cookie = mustCookie(await http.post('/r/outage/do_something'))
        await breakStore('outage', true)
        try {
          for (const failing of [() => http.get('/r/outage/counter', cookie), () => http.post('/r/outage/do_something', { cookie }), () => http.post('/r/outage/do_something')]) {
            const response = await failing()
            expect(response.status).toBe(500)
            expect(await response.text()).toBe('')
            expect(response.headers.get('cache-control')).toBe('no-store')
            expect(response.headers.getSetCookie()).toEqual([])
          }
        } finally {
          await breakStore('outage', false)
        }
        expect(await counterOf(await http.get('/r/outage/counter', cookie))).toEqual({ user_id: null, counter: 1 })
      })

      it("onStoreError 'anonymous': a store that fails to load gives an empty session (200), and its writes are not stored", async () => {
        const cookie = mustCookie(await http.post('/r/anonymous/do_something'))
        await breakStore('anonymous', true)
        try {
          const read = await http.get('/r/anonymous/counter', cookie)
          expect(read.status).toBe(200)
          expect(await counterOf(read)).toEqual({ user_id: null, counter: 0 })
          const write = await http.post('/r/anonymous/do_something', { cookie })
          expect(write.status).toBe(200)
          expect(write.headers.getSetCookie()).toEqual([])
        } finally {
          await breakStore('anonymous', false)
        }
        expect(await counterOf(await http.get('/r/anonymous/counter', cookie))).toEqual({ user_id: null, counter: 1 })
      })
    })
  })

  describe('server actions (sessions.write), posted as forms', () => {
    const account = async (cookie: SetCookie | string): Promise<string> => {
      const html = await (await http.get('/account', cookie)).text()
      return /<p id="status">([^<]*)<\/p>/.exec(html)?.[1] ?? `no status on the page: ${html.slice(0, 200)}`
    }

    it('login renews the session and commits before the 303: the cookie, its attributes, no-store, and the old id is dead', async () => {
      const anonymous = mustCookie(await http.post('/r/app/do_something'))
      const response = await http.action('/login', 'login', { user: 'ferris' }, anonymous)
      expect(response.status).toBe(303)
      expect(response.headers.get('location')).toBe('/account')
      expect(response.headers.get('cache-control')).toMatch(/no-store/)
      const cookie = mustCookie(response)
      expect(cookie).toMatchObject({ path: '/', httpOnly: true, secure: true, sameSite: 'lax' })
      expect(cookie.value).not.toBe(anonymous.value)
      expect(await account(cookie)).toBe('Signed in as ferris.')
      expect(await counterOf(await http.get('/r/app/counter', cookie))).toEqual({ user_id: 'ferris', counter: 1 })
      expect(await counterOf(await http.get('/r/app/counter', anonymous))).toEqual({ user_id: null, counter: 0 })
    })

    it('a redirect() thrown inside the change commits first, then redirects', async () => {
      const response = await http.action('/login', 'login-inside', { user: 'corro' })
      expect(response.status).toBe(303)
      expect(response.headers.get('location')).toBe('/account')
      expect(await account(mustCookie(response))).toBe('Signed in as corro.')
    })

    it('logout purges: the removal cookie, and the old cookie no longer logs in', async () => {
      const cookie = mustCookie(await http.action('/login', 'login', { user: 'ferris' }))
      const response = await http.action('/account', 'logout', {}, cookie)
      expect(response.status).toBe(303)
      expect(mustCookie(response)).toMatchObject({ value: '', maxAge: 0, path: '/' })
      expect(await account(cookie)).toBe('Not signed in.')
    })

    it('a purge followed by a thrown plain error still logs out', async () => {
      const cookie = mustCookie(await http.action('/login', 'login', { user: 'ferris' }))
      const response = await http.action('/account', 'logout-then-throw', {}, cookie)
      expect(response.status).toBe(500)
      expect(await account(cookie)).toBe('Not signed in.')
    })

    it('an insert followed by a thrown plain error commits nothing', async () => {
      const cookie = mustCookie(await http.action('/login', 'login', { user: 'ferris' }))
      const response = await http.action('/account', 'insert-then-throw', {}, cookie)
      expect(response.status).toBe(500)
      expect(cookiesNamed(response, 'id')).toEqual([])
      expect(await counterOf(await http.get('/r/app/counter', cookie))).toEqual({ user_id: 'ferris', counter: 0 })
    })
  })

  describe('server components (sessions.read)', () => {
    it('a write on the session a server component read throws SessionReadOnlyError, naming the fix', async () => {
      const response = await http.get('/readonly')
      expect(response.status).toBe(500)
      await waitFor(() => app!.output().includes('session.insert() changed the session where Next.js cannot set cookies'), 'the error in the server log')
      expect(app!.output()).toMatch(/sessions\.write\(\.\.\.\)\) or a route handler/)
    })

    it('sessions.write() in a server component throws before the store is written: a renew there does not log the user out', async () => {
      const cookie = mustCookie(await http.action('/login', 'login', { user: 'ferris' }))
      const response = await http.get('/readonly-write', cookie)
      expect(response.status).toBe(500)
      expect(response.headers.getSetCookie()).toEqual([])
      await waitFor(() => app!.output().includes('sessions.write() changed the session where Next.js cannot set cookies'), 'the error in the server log')
      expect(await counterOf(await http.get('/r/app/counter', cookie))).toEqual({ user_id: 'ferris', counter: 0 })
    })

    it("sessions.write() that only reads, in a server component, renders and commits nothing (even under extendOn 'every-request')", async () => {
      const cookie = mustCookie(await http.post('/r/every/do_something'))
      const response = await http.get('/readonly-read', cookie)
      expect(response.status).toBe(200)
      expect(await response.text()).toMatch(/counter: <!-- -->1/)
      expect(cookiesNamed(response, 'id')).toEqual([])
    })
  })

  describe('middleware.ts in the edge runtime (sessions.middleware)', () => {
    it('without a session, the guard redirects and sets no cookie', async () => {
      for (const cookie of [undefined, `edge=e1.AAAAAAAA.${'A'.repeat(60)}`]) {
        const response = await http.get('/guarded', cookie)
        expect(response.status).toBe(307)
        expect(response.headers.get('location')).toMatch(/\/login$/)
        expect(response.headers.getSetCookie()).toEqual([])
      }
    })

    it('opens a cookie sealed on Node with WebCrypto, writes the session, and the page behind reads the write in the same request', async () => {
      const login = mustCookie(await http.post('/r/edge/login', { json: { user_id: 'ferris' } }), 'edge')
      const first = await http.get('/guarded', login)
      expect(first.status).toBe(200)
      expect(await first.text()).toMatch(/Guarded page for <!-- -->ferris<!-- -->, visit <!-- -->1<!-- -->\./)
      const refreshed = mustCookie(first, 'edge')
      expect(refreshed).toMatchObject({ maxAge: 3600, path: '/', httpOnly: true, secure: true, sameSite: 'lax' })
      expect(first.headers.get('cache-control')).toMatch(/no-store/)
      // Never the internal header that carries the cookie to the render.
      expect(first.headers.get('x-middleware-set-cookie')).toBeNull()
      const second = await http.get('/guarded', refreshed)
      expect(await second.text()).toMatch(/visit <!-- -->2<!-- -->\./)
    })

    it('the middleware bundle uses WebCrypto and no node:crypto', async () => {
      const manifest = JSON.parse(await readFile(join(APP_DIR, '.next/server/middleware-manifest.json'), 'utf8')) as {
        middleware: Record<string, { files: string[] }>
      }
      const files = Object.values(manifest.middleware).flatMap((entry) => entry.files)
      expect(files.length).toBeGreaterThan(0)
      const code = (await Promise.all(files.map((file) => readFile(join(APP_DIR, '.next', file), 'utf8')))).join('\n')
      expect(code).toContain('SESSION_READ_ONLY')
      // cloakroom's WebCrypto provider: HKDF-derived AES-GCM and HMAC keys through crypto.subtle.
      expect(code).toContain('crypto.subtle')
      expect(code).toMatch(/importKey\(\s*"raw",\s*\w+,\s*\{\s*name:\s*"AES-GCM"/)
      expect(code).not.toContain('createCipheriv')
      expect(code).not.toContain('createHmac')
    })
  })

  describe.skipIf(!inBrowser)('headless Chromium', () => {
    let browser: Browser | undefined

    beforeAll(async () => {
      browser = await launchChromium()
    })

    afterAll(async () => {
      await browser?.close()
    })

    it('logs in through a server action: the page shows the user, the cookie is HttpOnly, and signing out ends it', async () => {
      const context = await browser!.newContext()
      context.setDefaultTimeout(10_000)
      const page = await context.newPage()
      await page.goto(`${app!.base}/login`)
      await page.getByLabel('user name').fill('ferris')
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
      await page.getByText('Signed in as ferris.').waitFor()
      expect(new URL(page.url()).pathname).toBe('/account')
      const cookie = (await context.cookies(app!.base)).find((candidate) => candidate.name === 'id')
      expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' })
      expect(await page.evaluate('document.cookie')).not.toContain('id=')

      await page.getByRole('button', { name: 'Sign out', exact: true }).click()
      await page.getByRole('heading', { name: 'Sign in' }).waitFor()
      expect((await context.cookies(app!.base)).some((candidate) => candidate.name === 'id')).toBe(false)
      // The old cookie, replayed, no longer logs in.
      expect(await (await client(app!.base).get('/account', `id=${cookie!.value}`)).text()).toContain('Not signed in.')
      await context.close()
    })
  })
})
