/**
 * Instructions per request through a whole framework, in process and without a socket, under
 * `valgrind --tool=callgrind`: Fastify through `inject()` and Hono through `app.request()`, bare
 * and with each session library, on the benchmark's routes and with the benchmark's traffic (a
 * pool of sessions made through `/counter`, each request taking the next cookie, the client
 * keeping whatever cookie a response sets). The load benchmark measures CPU time over real
 * sockets, which a shared machine blurs by a factor of several; an instruction count does not
 * move, so a few percent are visible here. Cost over bare = instructions per request minus the
 * bare framework's, as in the load benchmark.
 *
 * `tsx bench/micro/request-instructions.ts [out.json] [app …]` from the repository root: each
 * app runs in its own process, its routes one after the other, each `WARMUP` requests then `N`
 * counted ones (see `lib/callgrind.ts`).
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { callgrindSegments, mark, pooled } from '../lib/callgrind.js'
import type { FastifyPluginAsync } from 'fastify'
import type * as Dist from '../../dist/index.js'
import type * as FastifyAdapter from '../../dist/adapters/fastify/index.js'
import type * as HonoAdapter from '../../dist/adapters/hono/index.js'
import { counterOf, loadPeer, SECRET } from '../servers/common.js'

/** One (app, route): instructions per request, and over the bare framework's. */
export interface RequestInstructions {
  app: string
  route: string
  instructions: number
  overBare: number | null
}

const WARMUP = Number(process.env['INSTR_WARMUP'] ?? 300)
const N = Number(process.env['INSTR_N'] ?? 500)
const SESSIONS = 200
const PARALLEL = Number(process.env['INSTR_PARALLEL'] ?? 3)
// Run from the repository root; the child runs bundled elsewhere, so its own URL says nothing.
const ROOT = `${process.cwd()}/`
const ROUTES = ['/counter', '/read'] as const

/** Sends one GET with a cookie; answers the status and the first Set-Cookie's `name=value`. */
type Send = (path: string, cookie: string | undefined) => Promise<{ status: number; setCookie: string | undefined }>

interface PeerSession {
  get(key: string): unknown
  set(key: string, value: unknown): void
}

async function cloakroomOptions(cache: boolean): Promise<Dist.SessionOptions> {
  const { CookieStore } = (await import(pathToFileURL(`${ROOT}dist/index.js`).href)) as typeof Dist
  return { store: new CookieStore(), keys: [SECRET], cookie: { secure: false }, ...(cache ? {} : { cookieCache: false as const }) }
}

async function fastifyApp(plugin: 'bare' | 'secure-session' | 'cloakroom' | 'cloakroom-uncached'): Promise<Send> {
  const { default: Fastify } = await import('fastify')
  const app = Fastify()
  if (plugin === 'secure-session') {
    const { createHash } = await import('node:crypto')
    const { default: secureSession } = await loadPeer<{ default: FastifyPluginAsync<Record<string, unknown>> }>('@fastify/secure-session')
    await app.register(secureSession, { key: createHash('sha256').update(SECRET).digest(), cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: false } })
    const sessionOf = (request: unknown): PeerSession => (request as { session: PeerSession }).session
    app.get('/counter', async (request) => {
      const next = counterOf(sessionOf(request).get('counter')) + 1
      sessionOf(request).set('counter', next)
      return String(next)
    })
    app.get('/read', async (request) => String(counterOf(sessionOf(request).get('counter'))))
  } else if (plugin === 'bare') {
    app.get('/counter', async () => '1')
    app.get('/read', async () => '1')
  } else {
    const { getSession, sessions } = (await import(pathToFileURL(`${ROOT}dist/adapters/fastify/index.js`).href)) as typeof FastifyAdapter
    await app.register(sessions, await cloakroomOptions(plugin === 'cloakroom'))
    app.get('/counter', async (request) => {
      const session = getSession(request)
      const next = counterOf(await session.get('counter')) + 1
      session.insert('counter', next)
      return String(next)
    })
    app.get('/read', async (request) => String(counterOf(await getSession(request).get('counter'))))
  }
  await app.ready()
  return async (path, cookie) => {
    const response = await app.inject({ method: 'GET', url: path, headers: cookie === undefined ? {} : { cookie } })
    const header = response.headers['set-cookie']
    const first = Array.isArray(header) ? header[0] : header
    return { status: response.statusCode, setCookie: first?.split(';', 1)[0] }
  }
}

async function honoApp(plugin: 'bare' | 'cloakroom' | 'cloakroom-uncached'): Promise<Send> {
  const { Hono } = await import('hono')
  const app = new Hono<{ Variables: HonoAdapter.SessionVariables }>()
  if (plugin === 'bare') {
    app.get('/counter', (c) => c.text('1'))
    app.get('/read', (c) => c.text('1'))
  } else {
    const { sessions } = (await import(pathToFileURL(`${ROOT}dist/adapters/hono/index.js`).href)) as typeof HonoAdapter
    app.use(sessions(await cloakroomOptions(plugin === 'cloakroom')))
    app.get('/counter', async (c) => {
      const session = c.get('session')
      const next = counterOf(await session.get('counter')) + 1
      session.insert('counter', next)
      return c.text(String(next))
    })
    app.get('/read', async (c) => c.text(String(counterOf(await c.get('session').get('counter')))))
  }
  return async (path, cookie) => {
    const response = await app.request(`http://localhost${path}`, { headers: cookie === undefined ? {} : { cookie } })
    await response.text()
    return { status: response.status, setCookie: response.headers.get('set-cookie')?.split(';', 1)[0] }
  }
}

/** The apps, by name: `<framework> <library>`. */
const APPS: Record<string, () => Promise<Send>> = {
  'fastify bare': () => fastifyApp('bare'),
  'fastify @fastify/secure-session': () => fastifyApp('secure-session'),
  'fastify cloakroom (cookie)': () => fastifyApp('cloakroom'),
  'fastify cloakroom (cookie, cache off)': () => fastifyApp('cloakroom-uncached'),
  'hono bare': () => honoApp('bare'),
  'hono cloakroom (cookie)': () => honoApp('cloakroom'),
  'hono cloakroom (cookie, cache off)': () => honoApp('cloakroom-uncached'),
}

async function child(name: string, n: number, routes: string[]): Promise<void> {
  const make = APPS[name]
  if (make === undefined) throw new Error(`unknown app ${name}`)
  const send = await make()
  const jar: (string | undefined)[] = []
  for (let i = 0; i < SESSIONS; i++) jar.push((await send('/counter', undefined)).setCookie)
  let i = 0
  const requests = async (route: string, count: number): Promise<void> => {
    for (const end = i + count; i < end; i++) {
      const slot = i % SESSIONS
      const { status, setCookie } = await send(route, jar[slot])
      if (status !== 200) throw new Error(`${name} ${route} answered ${status}`)
      if (setCookie !== undefined) jar[slot] = setCookie
    }
  }
  for (const route of routes) {
    await requests(route, WARMUP)
    mark()
    await requests(route, n)
    mark()
  }
}

/** Instructions per request of each route of one app. */
async function instructionsOf(name: string): Promise<{ app: string; route: string; instructions: number }[]> {
  const { segments } = await callgrindSegments(fileURLToPath(import.meta.url), ['--child', name, String(N), ...ROUTES], ROOT)
  // Counted from the end (Node itself may mark once while starting): the tail, then per route its
  // counted requests and its warm-up.
  const rows = ROUTES.map((route, j) => ({ app: name, route, instructions: Math.round((segments[segments.length - 2 - 2 * (ROUTES.length - 1 - j)] as number) / N) }))
  for (const r of rows) console.log(`${r.app.padEnd(40)} ${r.route.padEnd(9)} ${r.instructions.toLocaleString('en').padStart(10)}`)
  return rows
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] ?? '', Number(process.argv[4]), process.argv.slice(5))
} else {
  const [out, ...picked] = process.argv.slice(2)
  const names = picked.length > 0 ? picked : Object.keys(APPS)
  const settled = await pooled(names.map((name) => () => instructionsOf(name)), PARALLEL)
  const perRequest = settled.flatMap((outcome, i) => {
    if (outcome.status === 'fulfilled') return outcome.value
    console.warn(`skipped ${names[i]}: ${String(outcome.reason).split('\n')[0]}`)
    return []
  })
  const results: RequestInstructions[] = perRequest.map((r) => {
    const bare = perRequest.find((b) => b.route === r.route && b.app === `${r.app.split(' ')[0]} bare`)
    return { ...r, overBare: bare === undefined ? null : r.instructions - bare.instructions }
  })
  console.log('')
  for (const r of results) console.log(`${r.app.padEnd(40)} ${r.route.padEnd(9)} ${r.instructions.toLocaleString('en').padStart(10)}  ${r.overBare === null ? '' : `+${r.overBare.toLocaleString('en')}`}`)
  if (out !== undefined && out !== '-') writeFileSync(out, JSON.stringify(results, null, 1) + '\n')
}
