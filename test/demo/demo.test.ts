import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEMO_SESSION_DEFAULTS, demoApp } from '../../demo/app.js'
import { generateKey } from '../../src/crypto/keys.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader, sessionCookie } from '../support/http.js'

const root = resolve(import.meta.dirname, '../..')

describe('demo app (in-process)', () => {
  const app = demoApp({ store: new MemoryStore(), keys: [generateKey()] }, 'memory')
  const post = async (path: string, cookie?: string, body?: string): Promise<Response> =>
    app.request(path, {
      method: 'POST',
      headers: { ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body } : {}),
    })
  const status = async (cookie?: string): Promise<{ status: string; entries: Record<string, unknown> }> =>
    (await app.request('/status.json', { headers: cookie ? { cookie } : {} })).json() as never
  const home = async (cookie?: string): Promise<string> => (await app.request('/', { headers: cookie ? { cookie } : {} })).text()

  it('fills a cart, logs in with a new id (the cart goes along), and logs out with the removal cookie', async () => {
    const first = await post('/cart/add', undefined, 'sku=scarf')
    expect(first.status).toBe(303)
    const cookie = cookieHeader(first)
    await post('/cart/add', cookie, 'sku=scarf')
    await post('/cart/add', cookie, 'sku=hanger')
    expect(await status(cookie)).toEqual({ status: 'unchanged', entries: { cart: { scarf: 2, hanger: 1 } } })
    await post('/cart/remove', cookie, 'sku=hanger')
    expect((await status(cookie)).entries).toEqual({ cart: { scarf: 2 } })

    const login = await post('/login', cookie, 'user=ferris')
    const loggedIn = cookieHeader(login)
    expect(loggedIn).not.toBe(cookie)
    expect((await status(loggedIn)).entries).toEqual({ cart: { scarf: 2 }, userId: 'ferris' })
    expect((await status(cookie)).entries).toEqual({})

    const page = await home(loggedIn)
    expect(page).toContain('Signed in as <strong>ferris</strong>')
    expect(page).toMatch(/<tr data-sku="scarf">\s*<td>Wool scarf<\/td><td class="qty">2<\/td>/)
    expect(page).toContain('<th id="cart-total">€38.00</th>')

    await post('/cart/clear', loggedIn)
    expect((await status(loggedIn)).entries).toEqual({ userId: 'ferris' })
    expect(await home(loggedIn)).toContain('Your cart is empty.')

    const logout = await post('/logout', loggedIn)
    expect(sessionCookie(logout)?.maxAge).toBe(0)
    expect((await status(loggedIn)).entries).toEqual({})
  })

  it('shows a flash notice once, on the page a form redirects to', async () => {
    const added = await post('/cart/add', undefined, 'sku=scarf')
    const cookie = cookieHeader(added)
    const first = await home(cookie)
    expect(first).toContain('<p class="notice" id="notice" role="status">Added Wool scarf to the cart.</p>')
    expect(await home(cookie)).not.toContain('id="notice"')
    const login = await post('/login', cookie, 'user=ferris')
    const loggedIn = cookieHeader(login)
    expect(await home(loggedIn)).toContain('Welcome, ferris.')
    expect(await home(loggedIn)).not.toContain('Welcome, ferris.')
    expect((await status(loggedIn)).entries).toEqual({ cart: { scarf: 1 }, userId: 'ferris' })
  })

  it('refuses an item not in the catalogue (400) and keeps a quantity within bounds', async () => {
    const cookie = cookieHeader(await post('/cart/add', undefined, 'sku=umbrella'))
    expect((await post('/cart/add', cookie, 'sku=%3Cscript%3E')).status).toBe(400)
    expect((await post('/cart/add', cookie, 'sku=__proto__')).status).toBe(400)
    expect((await post('/cart/remove', cookie, 'sku=nothing')).status).toBe(400)
    for (let i = 0; i < 12; i++) await post('/cart/add', cookie, 'sku=umbrella')
    expect((await status(cookie)).entries).toEqual({ cart: { umbrella: 9 } })
  })

  it("shows this request's session in the panel: nothing without a cookie; then status, created, expiries, store and the opening key", async () => {
    const none = await home()
    expect(none).toContain('<dd id="panel-status"><code>unchanged</code></dd>')
    expect(none).toMatch(/<dd id="panel-cookie">none yet/)
    expect(none).toContain('<dd id="panel-store"><code>memory</code></dd>')
    expect(none).not.toContain('panel-key')

    const cookie = cookieHeader(await post('/cart/add', undefined, 'sku=scarf'))
    const page = await home(cookie)
    const keyId = cookie.split('=')[1]!.split('.')[1]!
    expect(page).toContain(`<dd id="panel-key"><code>${keyId}</code> <small>(the newest key)</small></dd>`)
    const created = Date.parse(/<dd id="panel-created"><time datetime="([^"]+)"/.exec(page)![1]!)
    const idle = Date.parse(/<dd id="panel-idle"><time datetime="([^"]+)"/.exec(page)![1]!)
    const absolute = Date.parse(/<dd id="panel-absolute"><time datetime="([^"]+)"/.exec(page)![1]!)
    expect(absolute - created).toBe(DEMO_SESSION_DEFAULTS.absoluteTimeout * 1000)
    expect(idle - created).toBeGreaterThanOrEqual(DEMO_SESSION_DEFAULTS.lifecycle.stateTtl * 1000)
    expect(idle).toBeLessThanOrEqual(absolute)

    const stale = await home('id=e1.AAAAAAAA.bm90IGEgcmVhbCBjb29raWUgYXQgYWxsLCBubyBuby4')
    expect(stale).toMatch(/<dd id="panel-cookie">one came in, but it opened no live session/)
  })

  it('escapes what a user typed as their name', async () => {
    const login = await post('/login', undefined, 'user=%3Cscript%3Ex%3C%2Fscript%3E')
    const page = await home(cookieHeader(login))
    expect(page).not.toContain('<script>x')
    expect(page).toContain('&lt;script&gt;')
  })
})

describe('npm start (the demo server as a process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-demo-'))
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  function start(env: Record<string, string>, cwd = root): Promise<{ port: number; output: () => string; stop: () => Promise<void> }> {
    const tsx = join(root, 'node_modules/.bin/tsx')
    const child = spawn(tsx, ['--tsconfig', join(root, 'tsconfig.json'), join(root, 'demo/server.ts')], {
      cwd,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    return new Promise((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 20_000)
      child.stdout!.on('data', () => {
        const match = /listening on http:\/\/localhost:(\d+)/.exec(output)
        if (!match) return
        clearTimeout(timer)
        resolvePort({
          port: Number(match[1]),
          output: () => output,
          stop: () => new Promise((done) => (child.once('exit', () => done()), child.kill('SIGTERM'))),
        })
      })
      child.once('exit', (code) => reject(new Error(`the demo exited with ${code}:\n${output}`)))
    })
  }

  it('runs on an SQLite file by default, and a cart survives a restart', async () => {
    const env = { SESSION_KEY: generateKey(), SESSION_STORE: `sqlite:${join(dir, 'sessions.db')}` }
    const first = await start(env)
    const add = (cookie?: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${first.port}/cart/add`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie === undefined ? {} : { cookie }) },
        body: 'sku=hanger',
      })
    const cookie = cookieHeader(await add())
    await add(cookie)
    await first.stop()

    const second = await start(env)
    const status = await fetch(`http://127.0.0.1:${second.port}/status.json`, { headers: { cookie } })
    expect(await status.json()).toEqual({ status: 'unchanged', entries: { cart: { hanger: 2 } } })
    await second.stop()
  })

  it('without SESSION_KEY makes a development key and says so loudly', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'))
    const server = await start({ SESSION_KEY: '', SESSION_STORE: 'memory' }, cwd)
    expect(server.output()).toMatch(/SESSION_KEY is not set: using a DEVELOPMENT key/)
    const page = await fetch(`http://127.0.0.1:${server.port}/`)
    expect(page.status).toBe(200)
    await server.stop()
  })
})
