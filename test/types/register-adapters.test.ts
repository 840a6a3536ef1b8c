import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// Register is a global declaration: augmenting it in a file of the project's own typecheck would
// retype every session in every test. So each fixture is compiled in a program of its own, from
// memory (no file is written). Each line marked ✗ must be refused, and no other.
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

const REGISTER = `
import { MemoryStore } from '../../src/stores/memory/index.js'
declare module '../../src/core/register.js' {
  interface Register { data: { counter?: number; user?: string } }
}
const options = { store: new MemoryStore(), keys: ['aw530Vs5j0Oo2Wwk93iwf1Bh5Dm6_x4dvYoJZp2faCU'] }
`
const fixtures: { name: string; source: string }[] = [
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
  const counter: number | undefined = await req.session.get('counter')
  req.session.insert('counter', (counter ?? 0) + 1)
  req.session.insert('nope', 1) // ✗
  req.session.insert('user', 42) // ✗
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
const app = Fastify()
await app.register(sessions, options)
app.get('/', async (request) => {
  const counter: number | undefined = await request.session.get('counter')
  request.session.insert('counter', (counter ?? 0) + 1)
  request.session.insert('nope', 1) // ✗
  request.session.insert('user', 42) // ✗
  return 'ok'
})
const koa = new Koa()
koa.use(koaSessions(options))
koa.use(async (ctx) => {
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
  const counter: number | undefined = await c.get('session').get('counter')
  c.get('session').insert('counter', (counter ?? 0) + 1)
  c.get('session').insert('nope', 1) // ✗
  c.get('session').insert('user', 42) // ✗
  return c.text('ok')
})
export const handled = createSessionManager(options).handle(new Request('http://x/'), async (session) => {
  session.insert('counter', 'one') // ✗
  return new Response()
})
`,
  },
]

function diagnostics(name: string, source: string): { line: number; message: string }[] {
  const fixture = join(here, `__register_fixture_${name.replace(/\W+/g, '_')}__.ts`)
  const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path))
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root)
  const host = ts.createCompilerHost(parsed.options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (file, version, onError, create) =>
    file === fixture ? ts.createSourceFile(file, source, version) : getSourceFile(file, version, onError, create)
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (file) => file === fixture || fileExists(file)
  const program = ts.createProgram([fixture], { ...parsed.options, noEmit: true }, host)
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === fixture)
    .map((d) => ({
      line: d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }))
}

describe('Register types every adapter', () => {
  for (const { name, source } of fixtures) {
    it(`${name} refuse unknown keys and wrong values once Register declares the data`, () => {
      const errors = source.split('\n').flatMap((line, index) => (line.endsWith('// ✗') ? [index] : []))
      expect(errors.length).toBeGreaterThan(0)
      const found = diagnostics(name, source)
      expect(found.map((d) => d.line).sort((a, b) => a - b), JSON.stringify(found, null, 2)).toEqual(errors)
    })
  }
})
