import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// Register is a global declaration: augmenting it in a file of the project's own typecheck would
// retype every session in every test. So this fixture is compiled in a program of its own, from
// memory (no file is written).
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const fixture = join(here, '__register_fixture_fastify_koa__.ts')

const source = `
import Fastify from 'fastify'
import Koa from 'koa'
import { sessions } from '../../src/adapters/fastify/index.js'
import { sessions as koaSessions } from '../../src/adapters/koa/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

declare module '../../src/core/register.js' {
  interface Register { data: { counter?: number; user?: string } }
}

const options = { store: new MemoryStore(), keys: ['k'.repeat(32)] }
const app = Fastify()
await app.register(sessions, options)
app.get('/', async (request) => {
  const counter: number | undefined = await request.session.get('counter')
  request.session.insert('counter', (counter ?? 0) + 1)
  request.session.insert('nope', 1) // line 17 (0-based): unknown key
  request.session.insert('user', 42) // line 18: wrong value type
  return 'ok'
})
const koa = new Koa()
koa.use(koaSessions(options))
koa.use(async (ctx) => {
  ctx.session.insert('user', 'ada')
  ctx.session.insert('counter', 'one') // line 25: wrong value type
  ctx.state.session.insert('nope', 1) // line 26: unknown key
})
`

function diagnostics(): { line: number; message: string }[] {
  const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path))
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root)
  const host = ts.createCompilerHost(parsed.options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (name, version, onError, create) =>
    name === fixture ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, onError, create)
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (name) => name === fixture || fileExists(name)
  const program = ts.createProgram([fixture], { ...parsed.options, noEmit: true }, host)
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === fixture)
    .map((d) => ({
      line: d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }))
}

describe('Register types the Fastify and Koa adapters', () => {
  it('request.session, ctx.session and ctx.state.session refuse unknown keys and wrong values once Register declares the data', () => {
    const found = diagnostics()
    expect(found.map((d) => d.line).sort((a, b) => a - b), JSON.stringify(found, null, 2)).toEqual([17, 18, 25, 26])
  })
})
