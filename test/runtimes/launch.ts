import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Target } from './bundle.js'
import { BEGIN } from './protocol.js'
import { hasMiniflare, loadMiniflare, runtimeBinary, runtimePackageMissing } from './runtime-package.js'

/** How a CLI runtime runs a bundle: its binary and the arguments before the bundle's path. */
interface Command {
  binary: string
  args: string[]
}

const COMMANDS: Record<Exclude<Target, 'workerd'>, Command> = {
  node: { binary: process.execPath, args: [] },
  bun: { binary: runtimeBinary('bun'), args: ['run'] },
  deno: { binary: runtimeBinary('deno'), args: ['run', '-A', '--no-config'] },
}

/**
 * Why `target` cannot run here (the runtime package, or its binary in it, is missing), or
 * `undefined` when it can. Node is always there.
 *
 * @example
 * ```ts
 * const missing = missingRuntime('bun') // 'bun: the runtime package (Bun, Deno, workerd; about 300 MB) is not installed; …'
 * ```
 */
export function missingRuntime(target: Target): string | undefined {
  if (target === 'node') return undefined
  const notInstalled = runtimePackageMissing()
  if (notInstalled !== undefined) return `${target}: ${notInstalled}`
  if (target === 'workerd') return hasMiniflare() ? undefined : 'workerd: miniflare is missing from the runtime package; reinstall it'
  const { binary } = COMMANDS[target]
  return existsSync(binary) ? undefined : `${target}: ${binary} not found; reinstall the runtime package`
}

/**
 * Runs a CLI bundle (entry-cli) under `target` with `args` and returns the JSON it printed.
 *
 * @example
 * ```ts
 * const report = await runCli('deno', bundle.file, ['suite'])
 * ```
 */
export function runCli(target: Exclude<Target, 'workerd'>, file: string, args: string[], timeoutMs = 60_000): Promise<unknown> {
  const { binary, args: before } = COMMANDS[target]
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      [...before, file, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } },
      (error, stdout, stderr) => {
        const at = stdout.lastIndexOf(BEGIN)
        if (error !== null || at < 0) {
          reject(new Error(`${target} ${args.join(' ')} failed: ${error?.message ?? 'no report printed'}\n${stderr.slice(-4000)}`))
          return
        }
        resolve(JSON.parse(stdout.slice(at + BEGIN.length).split('\n')[0] as string))
      },
    )
  })
}

/** A workerd instance serving the worker bundle, through miniflare. */
export interface Workerd {
  /** GETs `path` from the worker and returns its JSON. */
  get(path: string, headers?: Record<string, string>): Promise<unknown>
  dispose(): Promise<void>
}

/**
 * Starts workerd (through miniflare) with the worker bundle as a module worker, without the
 * `nodejs_compat` flag: a `node:` import would fail to load.
 *
 * @example
 * ```ts
 * const worker = await startWorkerd(bundle.file)
 * const report = await worker.get('/suite')
 * ```
 */
export async function startWorkerd(file: string): Promise<Workerd> {
  const Miniflare = await loadMiniflare()
  const miniflare = new Miniflare({
    modules: true,
    scriptPath: file,
    // Module names are paths relative to this root; workerd refuses names that climb out with '..'.
    modulesRoot: dirname(file),
    compatibilityDate: '2024-09-23',
  })
  await miniflare.ready
  return {
    async get(path, headers = {}) {
      const response = await miniflare.dispatchFetch(`http://worker${path}`, { headers })
      const body = await response.text()
      if (!response.ok) throw new Error(`workerd ${path} answered ${response.status}: ${body.slice(0, 4000)}`)
      return JSON.parse(body) as unknown
    },
    dispose: () => miniflare.dispose(),
  }
}
