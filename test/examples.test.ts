// The README's quick starts: each examples/*.ts file runs as its own process on a free port and is
// walked through visit → login (a renewed id, 303 to /) → visit as that user → logout.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKey } from '../src/crypto/keys.js'

const root = fileURLToPath(new URL('../', import.meta.url))
let child: ChildProcess | undefined

afterEach(() => {
  child?.kill()
  child = undefined
})

/** Starts an example file as its own process on a free loopback port; resolves to its base URL. */
function startExample(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const started = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SESSION_KEY: generateKey() },
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

interface Login {
  path: string
  init?: RequestInit
  user: string
}

const form = (name: string): RequestInit => ({ body: new URLSearchParams({ name }) })
const examples: [file: string, login: Login][] = [
  ['examples/hono.ts', { path: '/login', init: form('ada'), user: 'ada' }],
  ['examples/fetch.ts', { path: '/login', init: form('ada'), user: 'ada' }],
  ['examples/express.ts', { path: '/login', init: form('ada'), user: 'ada' }],
  [
    'examples/fastify.ts',
    { path: '/login', init: { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) }, user: 'ada' },
  ],
  ['examples/koa.ts', { path: '/login?name=ada', user: 'ada' }],
  ['examples/node-http.ts', { path: '/login', user: 'ferris' }],
]

describe('quick-start examples, each run as its own process', () => {
  for (const [file, login] of examples) {
    it(`${file} counts visits, logs in with a renewed id and logs out`, async () => {
      const base = await startExample(file)
      const first = await fetch(`${base}/`)
      expect(await first.json()).toEqual({ user: null, visits: 1 })
      const anonymous = cookieOf(first)

      const init = login.init ?? {}
      const loggedInResponse = await fetch(`${base}${login.path}`, {
        ...init,
        method: 'POST',
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string> | undefined), cookie: anonymous },
      })
      expect(loggedInResponse.status).toBe(303)
      expect(loggedInResponse.headers.get('location')).toBe('/')
      const loggedIn = cookieOf(loggedInResponse)
      expect(loggedIn).not.toBe(anonymous)

      const home = await fetch(`${base}/`, { headers: { cookie: loggedIn } })
      expect(await home.json()).toEqual({ user: login.user, visits: 2 })

      const logout = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie: loggedIn }, redirect: 'manual' })
      expect(logout.headers.getSetCookie()[0]).toMatch(/^id=; .*Max-Age=0/)
      const after = await fetch(`${base}/`, { headers: { cookie: loggedIn } })
      expect(await after.json()).toEqual({ user: null, visits: 1 })
    })
  }
})

// The examples declare their session data through Register, which types every session of a program:
// they are kept out of the project's own typecheck and compiled here (and by `npm run typecheck`)
// in a program of their own, so a cast that creeps back, or a type that stops matching, fails.
describe('quick-start examples, typechecked in their own program', () => {
  // Compiling takes seconds, more on a busy machine.
  it('examples/tsconfig.json compiles without a diagnostic', { timeout: 120_000 }, () => {
    const configPath = `${root}examples/tsconfig.json`
    const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, `${root}examples`)
    expect(parsed.fileNames.length).toBeGreaterThanOrEqual(examples.length)
    const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true })
    // The examples' own diagnostics (the sources they import are checked by the project's typecheck).
    const found = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]
    for (const file of parsed.fileNames) {
      const source = program.getSourceFile(file)!
      found.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source))
    }
    expect(found.map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)).toEqual([])
  })
})
