// Packs the package as it would be published and uses it from a clean folder: every subpath of
// `exports` imports with no peer dependency installed (cloakroom/otel once @opentelemetry/api is), the types resolve for a TypeScript user,
// and the workerd build picks WebCrypto and no node: module. Serving that build inside workerd
// needs the runtime matrix's package (test/runtimes): without it that one test is skipped loudly,
// and under CI=true the file fails instead.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findRuntimePackage, loadMiniflare } from '../runtimes/runtime-package.js'

const root = resolve(import.meta.dirname, '../..')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>
  bin: Record<string, string>
}
const subpaths = Object.keys(manifest.exports)
  .filter((key) => key !== './package.json' && !key.endsWith('.sql'))
  .map((key) => (key === '.' ? 'cloakroom' : `cloakroom/${key.slice(2)}`))

// The one entry that needs a peer to import: it is the OpenTelemetry bridge.
const OTEL = 'cloakroom/otel'
const withWorkerd = findRuntimePackage('serving the packed package inside workerd')
const work = mkdtempSync(join(tmpdir(), 'cloakroom-pack-'))
const consumer = join(work, 'consumer')

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

beforeAll(() => {
  // Stage what `npm pack` would publish, built fresh, so the test does not depend on a prior build.
  const stage = join(work, 'stage')
  mkdirSync(stage)
  run(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], root)
  run('node', [join(root, 'scripts/copy-assets.js'), join(stage, 'dist')], root)
  for (const file of ['package.json', 'README.md', 'LICENSE']) {
    try {
      cpSync(join(root, file), join(stage, file))
    } catch {
      /* optional files */
    }
  }
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', work], stage).trim().split('\n').pop()!
  mkdirSync(consumer)
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', join(work, tarball)], consumer)
}, 180_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('the packed package, from a clean folder with no peer dependency', () => {
  it('ships only dist, the manifest and docs (no sources, no tests)', () => {
    const files = run('find', ['.', '-type', 'f'], join(consumer, 'node_modules/cloakroom')).split('\n')
    expect(files.some((file) => file.endsWith('.test.js'))).toBe(false)
    expect(files.some((file) => file.startsWith('./src/'))).toBe(false)
    expect(files).toContain('./dist/index.js')
    expect(files).toContain('./dist/index.d.ts')
  })

  for (const subpath of subpaths.filter((path) => path !== OTEL)) {
    it(`imports ${subpath}`, () => {
      const out = run('node', ['--input-type=module', '-e', `const m = await import(${JSON.stringify(subpath)}); console.log(Object.keys(m).join(','))`], consumer)
      expect(out.trim().length).toBeGreaterThan(0)
    })
  }

  it(`imports ${OTEL} once @opentelemetry/api (its optional peer) is installed, and serves a session through it`, () => {
    const script = `
      import { createSessionManager, MemoryStore, generateKey } from 'cloakroom'
      import { otel } from 'cloakroom/otel'
      const manager = createSessionManager({ ...otel(new MemoryStore()), keys: [generateKey()] })
      const first = await manager.handle(new Request('http://x/'), (s) => (s.insert('n', 1), new Response('ok')))
      const cookie = first.headers.getSetCookie()[0].split(';')[0]
      const second = await manager.handle(new Request('http://x/', { headers: { cookie } }), async (s) => new Response(String(await s.get('n'))))
      console.log(await second.text())`
    // Without the peer, the entry says what is missing; nothing else imports it (the loop above).
    expect(() => run('node', ['--input-type=module', '-e', `await import('${OTEL}')`], consumer)).toThrow(/@opentelemetry\/api/)
    cpSync(join(root, 'node_modules/@opentelemetry/api'), join(consumer, 'node_modules/@opentelemetry/api'), { recursive: true })
    expect(run('node', ['--input-type=module', '-e', script], consumer).trim()).toBe('1')
  })

  it('serves a session end to end through the root export', () => {
    const script = `
      import { createSessionManager, CookieStore, generateKey } from 'cloakroom'
      const manager = createSessionManager({ store: new CookieStore(), keys: [generateKey()] })
      const first = await manager.handle(new Request('http://x/'), (s) => (s.insert('n', 1), new Response('ok')))
      const cookie = first.headers.getSetCookie()[0].split(';')[0]
      const second = await manager.handle(new Request('http://x/', { headers: { cookie } }), async (s) => new Response(String(await s.get('n'))))
      console.log(await second.text())`
    expect(run('node', ['--input-type=module', '-e', script], consumer).trim()).toBe('1')
  })

  it('ships the PostgreSQL schema for users who run their own migrations', () => {
    const script = `import { readFileSync } from 'node:fs'; console.log(readFileSync(new URL(import.meta.resolve('cloakroom/postgres/schema.sql')), 'utf8'))`
    expect(run('node', ['--input-type=module', '-e', script], consumer)).toMatch(/CREATE TABLE/i)
  })

  it('runs the keygen bin', () => {
    const key = run('node', [join(consumer, 'node_modules/cloakroom', manifest.bin.cloakroom!), 'keygen'], consumer).trim()
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('gives a TypeScript user the types of every subpath', () => {
    const lines = subpaths.map((subpath, i) => `import * as m${i} from '${subpath}'\nvoid m${i}`)
    writeFileSync(
      join(consumer, 'use.ts'),
      `${lines.join('\n')}
import { createSessionManager, MemoryStore, type Session } from 'cloakroom'
const manager = createSessionManager<{ n?: number }>({ store: new MemoryStore(), keys: ['tLoqirM2JQgBEupyd1pBToe3cwraGza2-aKxwLn2Vb4'] })
export async function handler(session: Session<{ n?: number }>): Promise<number> {
  const n = (await session.get('n')) ?? 0
  session.insert('n', n + 1)
  return n
}
void manager
`,
    )
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      // Peers are optional: a user of one adapter does not have the others' types, so .d.ts files are not checked.
      JSON.stringify({
        compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: true, types: [], lib: ['ES2023', 'DOM'] },
        files: ['use.ts'],
      }),
    )
    expect(() => run(join(root, 'node_modules/.bin/tsc'), ['-p', '.'], consumer)).not.toThrow()
  })

  // Register is global to a program: each declaration is compiled in a program of its own, with
  // skipLibCheck on as most users have it, so the check must land in the user's own file.
  function compileWithRegister(name: string, data: string): string {
    writeFileSync(
      join(consumer, `${name}.ts`),
      `import { createSessionManager, MemoryStore } from 'cloakroom'
declare module 'cloakroom' {
  interface Register { data: ${data} }
}
const manager = createSessionManager({ store: new MemoryStore(), keys: ['tLoqirM2JQgBEupyd1pBToe3cwraGza2-aKxwLn2Vb4'] })
export const served = manager.handle(new Request('http://x/'), async (session) => {
  const n: number = ((await session.get('n')) ?? 0) + 1
  session.insert('n', n)
  return new Response(String(n))
})
`,
    )
    const config = join(consumer, `tsconfig.${name}.json`)
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: true, types: [], lib: ['ES2023', 'DOM'] },
        files: [`${name}.ts`],
      }),
    )
    try {
      run(join(root, 'node_modules/.bin/tsc'), ['-p', config], consumer)
      return ''
    } catch (error) {
      return String((error as { stdout?: string }).stdout)
    }
  }

  it('types every session from a Register declared against the packed types, without a cast', () => {
    expect(compileWithRegister('register-json', '{ n?: number; user?: { id: string } }')).toBe('')
  })

  it('fails to compile, naming the key, when Register declares a value JSON cannot carry', () => {
    const output = compileWithRegister('register-date', '{ n?: number; at: Date }')
    expect(output).toMatch(/register-date\.ts\(\d+,\d+\): error TS2345: .*Register's data\.at is not JSON/)
  })

  // The bundle a Cloudflare Worker would deploy, built once for the two tests below.
  let workerBundle: Promise<string> | undefined
  const bundleForWorkerd = (): Promise<string> => (workerBundle ??= buildWorkerBundle())
  async function buildWorkerBundle(): Promise<string> {
    const entry = join(consumer, 'worker.js')
    writeFileSync(
      entry,
      `import { createSessionManager, CookieStore } from 'cloakroom'
const manager = createSessionManager({ store: new CookieStore(), keys: ['aw530Vs5j0Oo2Wwk93iwf1Bh5Dm6_x4dvYoJZp2faCU'] })
export default {
  fetch: (request) => manager.handle(request, async (session) => {
    const n = (await session.get('n')) ?? 0
    session.insert('n', n + 1)
    return new Response(String(n + 1))
  }),
}`,
    )
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      // What wrangler resolves with: the workerd conditions, and main for packages without exports.
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['browser', 'module', 'main'],
      write: false,
      absWorkingDir: consumer,
    })
    return result.outputFiles[0]!.text
  }

  it('bundles for workerd with WebCrypto and no node: import', async () => {
    const code = await bundleForWorkerd()
    expect(code).not.toMatch(/from\s*["']node:|require\(["']node:/)
    expect(code).toContain('crypto.subtle')
  })

  it.runIf(withWorkerd)('serves a session inside workerd from that bundle', async () => {
    const Miniflare = await loadMiniflare()
    const mf = new Miniflare({ modules: true, script: await bundleForWorkerd(), compatibilityDate: '2025-01-01' })
    try {
      const first = await mf.dispatchFetch('http://localhost/')
      expect(await first.text()).toBe('1')
      const cookie = first.headers.get('set-cookie')!.split(';')[0]!
      const second = await mf.dispatchFetch('http://localhost/', { headers: { cookie } })
      expect(await second.text()).toBe('2')
    } finally {
      await mf.dispose()
    }
  })
})
