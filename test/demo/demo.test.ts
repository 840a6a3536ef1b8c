import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { demoApp } from '../../demo/app.js'
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

  it('counts, logs in with a new id, and logs out with the removal cookie', async () => {
    const first = await post('/increment')
    expect(first.status).toBe(303)
    const cookie = cookieHeader(first)
    await post('/increment', cookie)
    expect(await status(cookie)).toEqual({ status: 'unchanged', entries: { counter: 2 } })

    const login = await post('/login', cookie, 'user=ferris')
    const loggedIn = cookieHeader(login)
    expect(loggedIn).not.toBe(cookie)
    expect((await status(loggedIn)).entries).toEqual({ counter: 2, userId: 'ferris' })
    expect((await status(cookie)).entries).toEqual({})

    const page = await (await app.request('/', { headers: { cookie: loggedIn } })).text()
    expect(page).toContain('Signed in as <strong>ferris</strong>')

    const logout = await post('/logout', loggedIn)
    expect(sessionCookie(logout)?.maxAge).toBe(0)
    expect((await status(loggedIn)).entries).toEqual({})
  })

  it('escapes what a user typed as their name', async () => {
    const login = await post('/login', undefined, 'user=%3Cscript%3Ex%3C%2Fscript%3E')
    const page = await (await app.request('/', { headers: { cookie: cookieHeader(login) } })).text()
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

  it('runs on an SQLite file by default, and a session survives a restart', async () => {
    const env = { SESSION_KEY: generateKey(), SESSION_STORE: `sqlite:${join(dir, 'sessions.db')}` }
    const first = await start(env)
    const response = await fetch(`http://127.0.0.1:${first.port}/increment`, { method: 'POST', redirect: 'manual' })
    const cookie = cookieHeader(response)
    await fetch(`http://127.0.0.1:${first.port}/increment`, { method: 'POST', redirect: 'manual', headers: { cookie } })
    await first.stop()

    const second = await start(env)
    const status = await fetch(`http://127.0.0.1:${second.port}/status.json`, { headers: { cookie } })
    expect(await status.json()).toEqual({ status: 'unchanged', entries: { counter: 2 } })
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
