import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// Register is a global declaration: augmenting it in a file of the project's own typecheck would
// retype every session in every test. So each fixture is compiled in a program of its own, from
// memory (no file is written). Each line marked ✗ must be refused, and no other.
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

const HELPERS = `
import { MemoryStore } from '../../src/stores/memory/index.js'
const options = { store: new MemoryStore(), keys: ['aw530Vs5j0Oo2Wwk93iwf1Bh5Dm6_x4dvYoJZp2faCU'] }
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<_T extends true>(): void {}
`
const REGISTER = `${HELPERS}
declare module '../../src/core/register.js' {
  interface Register { data: { counter?: number; user?: string } }
}
`
// Declared through the package's entry point, as the README shows ('cloakroom' there).
const REGISTER_NOT_JSON = `${HELPERS}
import type {} from '../../src/index.js'
declare module '../../src/index.js' {
  interface Register { data: { counter?: number; at: Date; seen?: Map<string, number> } }
}
`
const REGISTER_FLASH = `${HELPERS}
declare module '../../src/core/register.js' {
  interface Register {
    data: { counter?: number }
    flash: { notice: string; error: { field: string; message: string } }
  }
}
`
const REGISTER_FLASH_NOT_JSON = `${HELPERS}
declare module '../../src/core/register.js' {
  interface Register {
    data: { counter?: number }
    flash: { notice: string; at: Date }
  }
}
`
const fixtures: { name: string; source: string; register?: string }[] = [
  {
    name: "Flash messages typed through Register's flash, on every adapter",
    source: `${REGISTER_FLASH}
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { Hono } from 'hono'
import { sessions as expressSessions } from '../../src/adapters/express/index.js'
import { sessions as fastifySessions } from '../../src/adapters/fastify/index.js'
import { sessions as honoSessions } from '../../src/adapters/hono/index.js'
import { sessions as koaSessions } from '../../src/adapters/koa/index.js'
import { withSessions } from '../../src/adapters/node/index.js'
import { createSessionManager } from '../../src/create.js'
const app = express()
app.use(expressSessions(options))
app.get('/', async (req, res) => {
  req.session.flash('notice', 'Saved')
  req.session.flash('error', { field: 'name', message: 'required' })
  req.session.flash('notice', 1) // ✗
  req.session.flash('nope', 'x') // ✗
  req.session.flash('error', { field: 'name' }) // ✗
  const notice = await req.session.takeFlash('notice')
  expectType<Equal<typeof notice, string | undefined>>()
  await req.session.takeFlash('nope') // ✗
  req.session.reflash()
  res.end()
})
const fastify = Fastify()
await fastify.register(fastifySessions, options)
fastify.get('/', async (request) => {
  const error = await request.session.takeFlash('error')
  expectType<Equal<typeof error, { field: string; message: string } | undefined>>()
  request.session.flash('notice', null) // ✗
  return 'ok'
})
const koa = new Koa()
koa.use(koaSessions(options))
koa.use(async (ctx) => {
  ctx.session.flash('notice', 'ok')
  ctx.state.session.flash('counter', 1) // ✗
})
const hono = new Hono()
hono.use(honoSessions(options))
hono.get('/', async (c) => {
  c.get('session').flash('notice', 'ok')
  c.get('session').flash('notice', ['ok']) // ✗
  return c.text('ok')
})
export const listener = withSessions(options, async (_req, res, session) => {
  await session.takeFlash('counter') // ✗
  res.end()
})
export const handled = createSessionManager(options).handle(new Request('http://x/'), async (session) => {
  session.flash('notice', 'ok')
  session.flash('notice', undefined) // ✗
  return new Response()
})
`,
  },
  {
    name: "A Register whose flash holds a Date: every flash call fails, data calls compile",
    source: `${REGISTER_FLASH_NOT_JSON}
import { createSessionManager } from '../../src/create.js'
export const handled = createSessionManager(options).handle(new Request('http://x/'), async (session) => {
  session.insert('counter', 1)
  session.flash('notice', 'ok') // ✗
  await session.takeFlash('at') // ✗
  return new Response()
})
`,
  },
  {
    name: 'Per-app flash messages (createSessionManager<Data, Flash>, sessions<Data, Flash>, getSession<Data, Flash>, withSessions<Data, Flash>)',
    source: `${HELPERS}
import express from 'express'
import { Hono } from 'hono'
import { getSession as expressSession } from '../../src/adapters/express/index.js'
import { getSession as fastifySession } from '../../src/adapters/fastify/index.js'
import { getSession as honoSession, sessions as honoSessions, type SessionEnv } from '../../src/adapters/hono/index.js'
import { getSession as koaSession } from '../../src/adapters/koa/index.js'
import { withSessions } from '../../src/adapters/node/index.js'
import { createSessionManager } from '../../src/create.js'
type Data = { counter?: number }
type Flash = { notice: string }
export const handled = createSessionManager<Data, Flash>(options).handle(new Request('http://x/'), async (session) => {
  const notice = await session.takeFlash('notice')
  expectType<Equal<typeof notice, string | undefined>>()
  session.flash('notice', 1) // ✗
  session.flash('alert', 'x') // ✗
  return new Response()
})
createSessionManager<Data, { at: Date }>(options) // ✗
createSessionManager<Data, { seen: Set<string> }>(options) // ✗
// Without a flash type, any key and any JSON value.
export const untyped = createSessionManager<Data>(options).handle(new Request('http://x/'), async (session) => {
  session.flash('anything', { n: [1, 'two', null] })
  session.flash('when', new Date()) // ✗
  return new Response()
})
const hono = new Hono<SessionEnv<Data, Flash>>()
hono.use(honoSessions<Data, Flash>(options))
hono.get('/', async (c) => {
  c.get('session').flash('notice', 1) // ✗
  honoSession<Data, Flash>(c).flash('nope', 'x') // ✗
  return c.text('ok')
})
express().get('/', (req, res) => {
  expressSession<Data, Flash>(req).flash('notice', false) // ✗
  res.end()
})
export const fromFastify = (request: Parameters<typeof fastifySession>[0]) => fastifySession<Data, Flash>(request).takeFlash('nope') // ✗
export const fromKoa = (ctx: Parameters<typeof koaSession>[0]) => koaSession<Data, Flash>(ctx).takeFlash('notice')
export const listener = withSessions<Data, Flash>(options, async (_req, res, session) => {
  session.flash('notice', 2) // ✗
  res.end()
})
`,
  },
  {
    name: 'Express req.session and the node:http handler session',
    source: `${REGISTER}
import type { IncomingMessage } from 'node:http'
import express from 'express'
import { sessions } from '../../src/adapters/express/index.js'
import { withSessions } from '../../src/adapters/node/index.js'
const app = express()
app.use(sessions(options))
app.get('/', async (req, res) => {
  const counter = await req.session.get('counter')
  expectType<Equal<typeof counter, number | undefined>>()
  req.session.insert('counter', (counter ?? 0) + 1)
  req.session.insert('nope', 1) // ✗
  req.session.insert('user', 42) // ✗
  req.session.insert('counter', undefined) // ✗
  await req.session.has('nope') // ✗
  await req.session.update('counter', (n) => n + 1)
  await req.session.update('counter', (n) => String(n)) // ✗
  res.end()
})
export const listener = withSessions(options, (_req: IncomingMessage, res, session) => {
  session.insert('user', 'ada')
  session.insert('counter', 'one') // ✗
  res.end()
})
`,
  },
  {
    name: 'Fastify request.session, Koa ctx.session and ctx.state.session',
    source: `${REGISTER}
import Fastify from 'fastify'
import Koa from 'koa'
import { sessions } from '../../src/adapters/fastify/index.js'
import { sessions as koaSessions } from '../../src/adapters/koa/index.js'
import * as v from 'valibot'
const app = Fastify()
await app.register(sessions, options)
// The plugin's options are checked against Register: a schema must agree with it.
await Fastify().register(sessions, { ...options, schema: { counter: v.number(), user: v.string() } })
await Fastify().register(sessions, { ...options, schema: { counter: v.string() } }) // ✗
koaSessions({ ...options, schema: { user: v.number() } }) // ✗
app.get('/', async (request) => {
  const counter = await request.session.get('counter')
  expectType<Equal<typeof counter, number | undefined>>()
  request.session.insert('counter', (counter ?? 0) + 1)
  await request.session.updateOr('counter', 'one', (n) => n + 1) // ✗
  request.session.insert('nope', 1) // ✗
  request.session.insert('user', 42) // ✗
  return 'ok'
})
const koa = new Koa()
koa.use(koaSessions(options))
koa.use(async (ctx) => {
  const user = await ctx.session.get('user')
  expectType<Equal<typeof user, string | undefined>>()
  ctx.session.insert('user', 'ada')
  ctx.session.insert('counter', 'one') // ✗
  ctx.state.session.insert('nope', 1) // ✗
})
`,
  },
  {
    name: "Hono c.get('session') and the fetch-level handler's session",
    source: `${REGISTER}
import { Hono } from 'hono'
import { sessions } from '../../src/adapters/hono/index.js'
import { createSessionManager } from '../../src/create.js'
const app = new Hono()
app.use(sessions(options))
app.get('/', async (c) => {
  const counter = await c.get('session').get('counter')
  expectType<Equal<typeof counter, number | undefined>>()
  c.get('session').insert('counter', (counter ?? 0) + 1)
  c.get('session').insert('nope', 1) // ✗
  c.get('session').insert('user', 42) // ✗
  return c.text('ok')
})
export const handled = createSessionManager(options).handle(new Request('http://x/'), async (session) => {
  session.insert('counter', 'one') // ✗
  const removed = await session.remove('user')
  expectType<Equal<typeof removed, string | undefined>>()
  return new Response()
})
`,
  },
  {
    name: 'A Register holding a Date or a Map',
    register: 'not JSON',
    source: `${REGISTER_NOT_JSON}
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { Hono } from 'hono'
import { sessions as expressSessions } from '../../src/adapters/express/index.js'
import { sessions as fastifySessions } from '../../src/adapters/fastify/index.js'
import { sessions as honoSessions } from '../../src/adapters/hono/index.js'
import { sessions as koaSessions } from '../../src/adapters/koa/index.js'
import { withSessions } from '../../src/adapters/node/index.js'
import { createSessionManager } from '../../src/create.js'
const app = express()
app.use(expressSessions(options))
app.get('/', async (req, res) => {
  res.json(await req.session.get('counter')) // ✗
  req.session.insert('at', new Date()) // ✗
})
const fastify = Fastify()
await fastify.register(fastifySessions, options)
fastify.get('/', async (request) => request.session.get('counter')) // ✗
const koa = new Koa()
koa.use(koaSessions(options))
koa.use(async (ctx) => {
  ctx.session.insert('counter', 1) // ✗
  ctx.state.session.insert('seen', new Map()) // ✗
})
const hono = new Hono()
hono.use(honoSessions(options))
hono.get('/', async (c) => c.json(await c.get('session').get('counter'))) // ✗
export const listener = withSessions(options, async (_req, res, session) => {
  res.end(String(await session.has('counter'))) // ✗
})
export const handled = createSessionManager(options).handle(new Request('http://x/'), async (session) => {
  session.insert('counter', 1) // ✗
  return new Response()
})
`,
  },
  {
    name: 'Per-app data (createSessionManager<Data>, sessions<Data>, getSession<Data>, withSessions<Data>)',
    source: `${HELPERS}
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { Hono } from 'hono'
import { getSession as expressSession, sessions as expressSessions } from '../../src/adapters/express/index.js'
import { getSession as fastifySession } from '../../src/adapters/fastify/index.js'
import { getSession as honoSession, sessions as honoSessions, type SessionEnv } from '../../src/adapters/hono/index.js'
import { getSession as koaSession } from '../../src/adapters/koa/index.js'
import { getSession as nodeSession, withSessions } from '../../src/adapters/node/index.js'
import { createSessionManager } from '../../src/create.js'
type Data = { counter?: number; user?: { id: string; roles: string[] } }

const manager = createSessionManager<Data>(options)
export const handled = manager.handle(new Request('http://x/'), async (session) => {
  const counter = await session.get('counter')
  expectType<Equal<typeof counter, number | undefined>>()
  session.insert('counter', 'x') // ✗
  session.insert('user', { id: 'ada', roles: ['admin'] })
  session.insert('user', { id: 'ada', roles: [1] }) // ✗
  return new Response()
})
createSessionManager<{ at: Date }>(options) // ✗
createSessionManager<{ seen: Set<string> }>(options) // ✗
createSessionManager<{ nested: { at: Date }[] }>(options) // ✗
createSessionManager<{ big: bigint }>(options) // ✗
createSessionManager<{ callback: () => void }>(options) // ✗
createSessionManager<{ maybe: number | undefined }>(options)
createSessionManager<{ list: (number | undefined)[] }>(options) // ✗

const hono = new Hono<SessionEnv<Data>>()
hono.use(honoSessions<Data>(options))
hono.get('/', async (c) => {
  const counter = await c.get('session').get('counter')
  expectType<Equal<typeof counter, number | undefined>>()
  c.get('session').insert('counter', 'x') // ✗
  honoSession<{ at: Date }>(c) // ✗
  return c.text(String(counter))
})
const chained = new Hono().use(honoSessions<Data>(options))
chained.get('/', async (c) => {
  c.get('session').insert('counter', 'x') // ✗
  return c.text('ok')
})
honoSessions<{ seen: Map<string, number> }>(options) // ✗

const app = express()
app.use(expressSessions(options))
app.get('/', async (req, res) => {
  const session = expressSession<Data>(req)
  const counter = await session.get('counter')
  expectType<Equal<typeof counter, number | undefined>>()
  session.insert('counter', 'x') // ✗
  expressSession<{ at: Date }>(req) // ✗
  res.end()
})
expressSessions<{ at: Date }>(options) // ✗

const fastify = Fastify()
fastify.get('/', async (request) => {
  const session = fastifySession<Data>(request)
  session.insert('counter', 'x') // ✗
  fastifySession<{ at: Date }>(request) // ✗
  return session.get('counter')
})

const koa = new Koa()
koa.use(async (ctx) => {
  const session = koaSession<Data>(ctx)
  session.insert('counter', 'x') // ✗
  koaSession<{ at: Date }>(ctx) // ✗
})

export const listener = withSessions<Data>(options, async (req, res, session) => {
  session.insert('counter', 'x') // ✗
  nodeSession<Data>(req).insert('counter', 'x') // ✗
  nodeSession<{ at: Date }>(req) // ✗
  res.end()
})
withSessions<{ at: Date }>(options, () => {}) // ✗
`,
  },
]

// Parsed once for every fixture's program: only the fixture differs between them.
const parsedFiles = new Map<string, ts.SourceFile>()

function diagnostics(name: string, source: string): { line: number; message: string }[] {
  const fixture = join(here, `__register_fixture_${name.replace(/\W+/g, '_')}__.ts`)
  const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path))
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root)
  const host = ts.createCompilerHost(parsed.options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (file, version, onError, create) => {
    if (file === fixture) return ts.createSourceFile(file, source, version)
    let cached = parsedFiles.get(file)
    if (cached === undefined) {
      cached = getSourceFile(file, version, onError, create)
      if (cached !== undefined) parsedFiles.set(file, cached)
    }
    return cached
  }
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (file) => file === fixture || fileExists(file)
  const program = ts.createProgram([fixture], { ...parsed.options, noEmit: true }, host)
  // The fixture's own diagnostics only: checking it checks what it uses, not the whole program.
  const sourceFile = program.getSourceFile(fixture)!
  return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)].map((d) => ({
    line: d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line,
    message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  }))
}

describe('session data types: Register and per-app data, on every adapter', () => {
  for (const { name, source, register } of fixtures) {
    const what = register === 'not JSON' ? 'fails every use of the session, naming the declaration' : 'refuses unknown keys, wrong values and non-JSON data types, and types reads'
    // Compiling takes seconds, more on a busy machine.
    it(`${name}: ${what}`, { timeout: 120_000 }, () => {
      const errors = source.split('\n').flatMap((line, index) => (line.endsWith('// ✗') ? [index] : []))
      expect(errors.length).toBeGreaterThan(0)
      const found = diagnostics(name, source)
      expect(found.map((d) => d.line).sort((a, b) => a - b), JSON.stringify(found, null, 2)).toEqual(errors)
    })
  }
})
