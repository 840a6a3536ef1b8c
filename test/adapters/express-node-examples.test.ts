import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKey } from '../../src/crypto/keys.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
let child: ChildProcess | undefined

afterEach(() => {
  child?.kill()
  child = undefined
})

/** Starts an example file as its own process on a free port; resolves to its base URL. */
function startExample(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const started = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, PORT: '0', SESSION_KEY: generateKey() },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = started
    let output = ''
    const timer = setTimeout(() => reject(new Error(`${file} did not start:\n${output}`)), 15_000)
    const collect = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = /listening on http:\/\/localhost:(\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(`http://127.0.0.1:${match[1]}`)
      }
    }
    started.stdout?.on('data', collect)
    started.stderr?.on('data', collect)
    started.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${file} exited with ${String(code)}:\n${output}`))
    })
  })
}

function cookieOf(response: Response): string {
  const line = response.headers.getSetCookie().find((candidate) => candidate.startsWith('id='))
  if (line === undefined) throw new Error('the response set no session cookie')
  return line.split(';')[0] as string
}

async function loginWorkflow(base: string, loginBody?: URLSearchParams, expectedUser = 'ferris'): Promise<void> {
  const first = await fetch(`${base}/`)
  expect(await first.json()).toEqual({ user: null, visits: 1 })
  const anonymous = cookieOf(first)

  const login = await fetch(`${base}/login`, { method: 'POST', headers: { cookie: anonymous }, redirect: 'manual', ...(loginBody ? { body: loginBody } : {}) })
  expect(login.status).toBe(303)
  expect(login.headers.get('location')).toBe('/')
  const loggedIn = cookieOf(login)
  expect(loggedIn).not.toBe(anonymous)

  const home = await fetch(`${base}/`, { headers: { cookie: loggedIn } })
  expect(await home.json()).toEqual({ user: expectedUser, visits: 2 })

  const logout = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie: loggedIn }, redirect: 'manual' })
  expect(logout.headers.getSetCookie()[0]).toMatch(/^id=; .*Max-Age=0/)
  const after = await fetch(`${base}/`, { headers: { cookie: loggedIn } })
  expect(await after.json()).toEqual({ user: null, visits: 1 })
}

describe('quick-start examples, each run as its own process', () => {
  it('examples/express.ts counts visits, logs in with a renewed id and logs out', async () => {
    const base = await startExample('examples/express.ts')
    await loginWorkflow(base, new URLSearchParams({ name: 'ada' }), 'ada')
  })

  it('examples/node-http.ts counts visits, logs in with a renewed id and logs out', async () => {
    const base = await startExample('examples/node-http.ts')
    await loginWorkflow(base)
  })
})
