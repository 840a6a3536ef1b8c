// The Next.js test app (this folder) as the tests use it: cloakroom built into its node_modules,
// `next build`, then `next start` on a free loopback port. Next.js, React and their types weigh
// about 350 MB, so they live in a package of their own (package.json beside this file), installed
// by CI and by `npm --prefix test/next ci`, not by the repository's `npm ci`.
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { waitFor } from '../support/wait.js'
import { needed } from '../support/needed.js'

const run = promisify(execFile)

/** The test app's folder. */
export const APP_DIR = resolve(import.meta.dirname)
const ROOT = resolve(APP_DIR, '../..')
const NEXT_BIN = join(APP_DIR, 'node_modules/.bin/next')

/** The command that installs the test app's package, for messages. */
export const INSTALL_NEXT = 'npm --prefix test/next ci'

/**
 * Whether the test app's package is installed: `false` after a loud warning when it is not, and
 * under `CI=true` an error instead, so a CI run cannot pass by skipping.
 *
 * @example
 * ```ts
 * const installed = findNextApp('the Next.js adapter tests')
 * describe.skipIf(!installed)('…', () => { … })
 * ```
 */
export function findNextApp(what: string): boolean {
  // npm writes its hidden lockfile last, once every package is in place.
  const installed = existsSync(join(APP_DIR, 'node_modules/.package-lock.json')) && existsSync(NEXT_BIN)
  return needed(what, installed ? undefined : `the Next.js test app's package (next, react; about 350 MB) is not installed; \`${INSTALL_NEXT}\` installs it`)
}

/**
 * Builds cloakroom as published (`tsc` into dist, beside the package manifest) into the app's
 * node_modules, so the app imports `cloakroom/next` through the package's `exports` and `imports`
 * (the edge bundle must pick WebCrypto by its export condition), then runs `next build` from a clean
 * `.next`. Nothing of it is kept in the repository (node_modules and .next are ignored).
 */
export async function buildNextApp(env: NodeJS.ProcessEnv): Promise<void> {
  const staged = join(APP_DIR, 'node_modules/cloakroom')
  rmSync(staged, { recursive: true, force: true })
  mkdirSync(staged, { recursive: true })
  copyFileSync(join(ROOT, 'package.json'), join(staged, 'package.json'))
  await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(staged, 'dist')], { cwd: ROOT })
  rmSync(join(APP_DIR, '.next'), { recursive: true, force: true })
  try {
    await run(NEXT_BIN, ['build'], { cwd: APP_DIR, env, maxBuffer: 64 * 1024 * 1024 })
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string }
    throw new Error(`next build failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error })
  }
}

/** A free loopback port (there is a short race until `next start` binds it; nothing else here binds ports at random). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()))
  const address = server.address()
  await new Promise<void>((closed) => server.close(() => closed()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** The app served by `next start`. */
export interface RunningNextApp {
  /** `http://127.0.0.1:<port>` */
  base: string
  /** What the server printed so far (stdout and stderr). */
  output(): string
  close(): Promise<void>
}

/**
 * Starts `next start` on a free loopback port and waits until it answers.
 *
 * @example
 * ```ts
 * const app = await startNextApp(env)
 * await fetch(`${app.base}/login`)
 * await app.close()
 * ```
 */
export async function startNextApp(env: NodeJS.ProcessEnv): Promise<RunningNextApp> {
  const port = await freePort()
  // Its own process group: `next start` runs the server in a child process of its own.
  const child: ChildProcess = spawn(NEXT_BIN, ['start', '-H', '127.0.0.1', '-p', String(port)], { cwd: APP_DIR, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  const base = `http://127.0.0.1:${port}`
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        /* already gone */
      }
      await exited
    }
  }
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}:\n${output}`)
        return fetch(`${base}/login`).then(
          (response) => response.ok,
          () => false,
        )
      },
      'next start answering',
      60_000,
    )
  } catch (error) {
    await close()
    throw error
  }
  return { base, output: () => output, close }
}
