import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// Register is a global declaration: augmenting it in a file of the project's own typecheck would
// retype every session in every test. So this fixture is compiled in a program of its own.
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const fixture = join(here, '__register_fixture__.ts')

const source = `
import type { IncomingMessage } from 'node:http'
import express from 'express'
import { sessions } from '../../src/adapters/express/index.js'
import { withSessions } from '../../src/adapters/node/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

declare module '../../src/core/register.js' {
  interface Register { data: { counter?: number; user?: string } }
}

const options = { store: new MemoryStore(), keys: ['k'.repeat(32)] }
const app = express()
app.use(sessions(options))
app.get('/', async (req, res) => {
  const counter: number | undefined = await req.session.get('counter')
  req.session.insert('counter', (counter ?? 0) + 1)
  req.session.insert('nope', 1) // line 17: unknown key
  req.session.insert('user', 42) // line 18: wrong value type
  res.end()
})
export const listener = withSessions(options, (_req: IncomingMessage, res, session) => {
  session.insert('user', 'ada')
  session.insert('counter', 'one') // line 23: wrong value type
  res.end()
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

describe('Register types the adapters', () => {
  it('req.session and the node handler session refuse unknown keys and wrong values once Register declares the data', () => {
    const found = diagnostics()
    expect(found.map((d) => d.line).sort((a, b) => a - b), JSON.stringify(found, null, 2)).toEqual([17, 18, 23])
  })
})
