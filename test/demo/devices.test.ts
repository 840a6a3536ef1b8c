// The demo's "Your devices" page, driven in-process over its HTTP interface (app.request): what it
// lists, what it escapes, what its sign-out forms end, and what it refuses. The same page in a real
// browser, two contexts at once, is test/demo/devices.browser.test.ts.
import { describe, expect, it } from 'vitest'
import { demoApp } from '../../demo/app.js'
import type { SessionStore } from '../../src/core/store.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader } from '../support/http.js'

const ORIGIN = 'http://localhost'

function setup(store: SessionStore = new MemoryStore()) {
  const app = demoApp({ store, keys: [generateKey()] }, 'memory')
  const post = (path: string, cookie: string | undefined, form: Record<string, string> = {}, origin: string | null = ORIGIN): Promise<Response> =>
    Promise.resolve(
      app.request(`${ORIGIN}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(cookie === undefined ? {} : { cookie }),
          ...(origin === null ? {} : { origin }),
        },
        body: new URLSearchParams(form).toString(),
      }),
    )
  const get = (path: string, cookie?: string): Promise<Response> =>
    Promise.resolve(app.request(`${ORIGIN}${path}`, { headers: cookie === undefined ? {} : { cookie } }))
  const signIn = async (user: string, userAgent: string): Promise<string> => {
    const response = await app.request(`${ORIGIN}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, 'user-agent': userAgent },
      body: new URLSearchParams({ user }).toString(),
    })
    expect(response.status).toBe(303)
    return cookieHeader(response)
  }
  const devicesPage = async (cookie: string): Promise<string> => {
    const response = await get('/devices', cookie)
    expect(response.status).toBe(200)
    return response.text()
  }
  const whoami = async (cookie: string): Promise<unknown> =>
    (((await (await get('/status.json', cookie)).json()) as { entries: Record<string, unknown> }).entries['userId'] ?? null)
  return { app, post, get, signIn, devicesPage, whoami }
}

/** The rows of the devices table: the user agent shown, whether marked current, and the handle its sign-out form posts. */
function rows(page: string): { agent: string; current: boolean; handle: string | undefined }[] {
  return [...page.matchAll(/<tr class="device( current)?">([\s\S]*?)<\/tr>/g)].map((match) => ({
    agent: /<td class="agent">([\s\S]*?)<\/td>/.exec(match[2]!)![1]!.replace(/<span class="badge">This device<\/span>/, '').trim(),
    current: match[1] !== undefined,
    handle: /name="handle" value="([^"]*)"/.exec(match[2]!)?.[1],
  }))
}

describe("the demo's devices page", () => {
  it("lists the user's sessions with their user agents, the current one marked and without a sign-out of its own", async () => {
    const { signIn, devicesPage } = setup()
    await signIn('ferris', 'Laptop Browser')
    await signIn('someone-else', 'Elsewhere')
    const phone = await signIn('ferris', 'Phone Browser')
    const listed = rows(await devicesPage(phone))
    expect(listed.map(({ agent, current }) => [agent, current])).toEqual([
      ['Phone Browser', true],
      ['Laptop Browser', false],
    ])
    expect(listed[0]!.handle).toBeUndefined()
    expect(listed[1]!.handle).toMatch(/.+/)
  })

  it('escapes the user agent, which the client chose', async () => {
    const { signIn, devicesPage } = setup()
    await signIn('ferris', '<img src=x onerror=alert(1)>"&\'')
    const page = await devicesPage(await signIn('ferris', 'Mine'))
    expect(page).not.toContain('<img src=x')
    expect(rows(page)[1]!.agent).toBe('&lt;img src=x onerror=alert(1)&gt;&quot;&amp;&#39;')
  })

  it('"Sign out" ends the one session it names; the current one and other users stay', async () => {
    const { post, signIn, devicesPage, whoami } = setup()
    const laptop = await signIn('ferris', 'Laptop')
    const tablet = await signIn('ferris', 'Tablet')
    const stranger = await signIn('someone-else', 'Elsewhere')
    const phone = await signIn('ferris', 'Phone')
    const laptopHandle = rows(await devicesPage(phone)).find((row) => row.agent === 'Laptop')!.handle!
    const response = await post('/devices/sign-out', phone, { handle: laptopHandle })
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/devices?notice=signed-out')
    expect(await whoami(laptop)).toBeNull()
    expect(await whoami(tablet)).toBe('ferris')
    expect(await whoami(phone)).toBe('ferris')
    expect(await whoami(stranger)).toBe('someone-else')
    expect(rows(await devicesPage(phone)).map((row) => row.agent)).toEqual(['Phone', 'Tablet'])
  })

  it('"Sign out everywhere else" ends every other session of the user and says how many', async () => {
    const { post, get, signIn, whoami } = setup()
    const laptop = await signIn('ferris', 'Laptop')
    const tablet = await signIn('ferris', 'Tablet')
    const stranger = await signIn('someone-else', 'Elsewhere')
    const phone = await signIn('ferris', 'Phone')
    const response = await post('/devices/sign-out-others', phone)
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/devices?notice=signed-out-others&count=2')
    expect(await whoami(laptop)).toBeNull()
    expect(await whoami(tablet)).toBeNull()
    expect(await whoami(phone)).toBe('ferris')
    expect(await whoami(stranger)).toBe('someone-else')
    expect(await (await get('/devices?notice=signed-out-others&count=2', phone)).text()).toContain('Signed out 2 other sessions.')
  })

  it('a handle that names no session of this user (ended, or another user\'s) ends nothing and says so', async () => {
    const { post, signIn, devicesPage, whoami } = setup()
    const stranger = await signIn('someone-else', 'Elsewhere')
    const strangerHandle = rows(await devicesPage(await signIn('someone-else', 'Other'))).find((row) => row.agent === 'Elsewhere')!.handle!
    const phone = await signIn('ferris', 'Phone')
    const response = await post('/devices/sign-out', phone, { handle: strangerHandle })
    expect(response.headers.get('location')).toBe('/devices?notice=not-found')
    expect(await whoami(stranger)).toBe('someone-else')
  })

  it('a sign-out post without a usable handle is a 400, not a crash', async () => {
    const { post, signIn } = setup()
    const phone = await signIn('ferris', 'Phone')
    expect((await post('/devices/sign-out', phone, {})).status).toBe(400)
    expect((await post('/devices/sign-out', phone, { handle: 'x'.repeat(1000) })).status).toBe(400)
  })

  it('refuses a post from another origin (403) and ends nothing; a post without Origin is let through (SameSite=Lax guards it)', async () => {
    const { post, signIn, whoami } = setup()
    const laptop = await signIn('ferris', 'Laptop')
    const phone = await signIn('ferris', 'Phone')
    for (const origin of ['https://evil.example', 'null', 'http://localhost:8080']) {
      expect((await post('/devices/sign-out-others', phone, {}, origin)).status).toBe(403)
      expect((await post('/logout', phone, {}, origin)).status).toBe(403)
    }
    expect(await whoami(laptop)).toBe('ferris')
    expect(await whoami(phone)).toBe('ferris')
    expect((await post('/devices/sign-out-others', phone, {}, null)).status).toBe(303)
    expect(await whoami(laptop)).toBeNull()
  })

  it('without a signed-in user, shows the sign-in form instead of a list', async () => {
    const { get } = setup()
    const page = await (await get('/devices')).text()
    expect(page).toContain('Not signed in.')
    expect(page).toContain('action="/login"')
    expect(page).not.toContain('<table')
  })

  it('on a store that cannot list (the cookie store) says so instead of failing', async () => {
    const { signIn, devicesPage, post } = setup(new CookieStore())
    const cookie = await signIn('ferris', 'Phone')
    const page = await devicesPage(cookie)
    expect(page).toContain('cannot list')
    expect(page).not.toContain('<table')
    expect((await post('/devices/sign-out', cookie, { handle: 'abc' })).status).toBe(400)
    expect((await post('/devices/sign-out-others', cookie)).status).toBe(400)
  })

  it('the session cookie stays HttpOnly and SameSite=Lax', async () => {
    const { app } = setup()
    const response = await app.request(`${ORIGIN}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body: 'user=ferris',
    })
    const line = response.headers.getSetCookie()[0]!
    expect(line).toMatch(/; HttpOnly/i)
    expect(line).toMatch(/; SameSite=Lax/i)
  })
})
