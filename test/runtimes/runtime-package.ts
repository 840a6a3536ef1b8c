// Bun, Deno and workerd (through miniflare) weigh about 300 MB, so the runtime matrix keeps them in a
// package of its own (package.json beside this file), installed by `npm run test:runtimes` and by CI,
// not by the repository's `npm ci`: a newcomer who only wants `npm start` or `npm test` never pays for it.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { needed } from '../support/needed.js'

const DIR = fileURLToPath(new URL('./', import.meta.url))

/** The command that installs the runtime package, for messages. */
export const INSTALL_RUNTIMES = 'npm --prefix test/runtimes ci'

/**
 * Why the runtime package cannot be used here, or `undefined` when it is installed.
 *
 * @example
 * ```ts
 * const missing = runtimePackageMissing() // "the runtime package (Bun, Deno, workerd) is not installed; …"
 * ```
 */
export function runtimePackageMissing(): string | undefined {
  // npm writes its hidden lockfile last, once every package is in place.
  if (existsSync(`${DIR}node_modules/.package-lock.json`)) return undefined
  return `the runtime package (Bun, Deno, workerd; about 300 MB) is not installed; \`npm run test:runtimes\` installs it and runs the matrix, \`${INSTALL_RUNTIMES}\` only installs it`
}

/**
 * Whether the runtime package is installed, for a test file that needs it: `false` after a loud
 * warning when it is not, and under `CI=true` an error instead, so a CI run cannot pass by skipping
 * (as the Redis and PostgreSQL tests do when their service is missing).
 *
 * @example
 * ```ts
 * const installed = findRuntimePackage('the runtime matrix')
 * describe.skipIf(!installed)('the portable suite', () => { … })
 * ```
 */
export function findRuntimePackage(what: string): boolean {
  return needed(what, runtimePackageMissing())
}

/**
 * The path of a runtime's binary in the runtime package (the npm packages `bun` and `deno` link
 * theirs under node_modules/.bin; calling it directly skips npx's start-up).
 *
 * @example
 * ```ts
 * execFile(runtimeBinary('deno'), ['run', '-A', file])
 * ```
 */
export function runtimeBinary(name: 'bun' | 'deno'): string {
  return `${DIR}node_modules/.bin/${name}`
}

/** Whether miniflare is installed in the runtime package. */
export function hasMiniflare(): boolean {
  return existsSync(`${DIR}node_modules/miniflare/package.json`)
}

/** The part of miniflare's `Response` that the tests read. */
export interface WorkerResponse {
  ok: boolean
  status: number
  headers: { get(name: string): string | null }
  text(): Promise<string>
}

/** The part of a `Miniflare` instance that the tests use. */
export interface Miniflare {
  ready: Promise<unknown>
  dispatchFetch(url: string, init?: { headers?: Record<string, string> }): Promise<WorkerResponse>
  dispose(): Promise<void>
}

/** The options the tests pass to `new Miniflare()`: a module worker, from a file or from text. */
export interface MiniflareOptions {
  modules: true
  script?: string
  scriptPath?: string
  modulesRoot?: string
  compatibilityDate: string
}

/**
 * Loads miniflare's `Miniflare` class from the runtime package. Typed here by the little the
 * tests use, so that `npm run typecheck` does not need the runtime package installed.
 *
 * @example
 * ```ts
 * const Miniflare = await loadMiniflare()
 * const worker = new Miniflare({ modules: true, script, compatibilityDate: '2025-01-01' })
 * ```
 */
export async function loadMiniflare(): Promise<new (options: MiniflareOptions) => Miniflare> {
  const entry = createRequire(`${DIR}package.json`).resolve('miniflare')
  const loaded = (await import(pathToFileURL(entry).href)) as { Miniflare: new (options: MiniflareOptions) => Miniflare }
  return loaded.Miniflare
}
