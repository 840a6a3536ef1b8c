/**
 * Starts and stops the scale-out suite's app instances: `node --import tsx test/scale/app.ts`, each
 * its own process on a free loopback port.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { AppConfig } from './app.js'

/**
 * A running app instance.
 *
 * @example
 * ```ts
 * const app: AppProcess = await startApp(config)
 * await app.stop()
 * ```
 */
export interface AppProcess {
  readonly port: number
  readonly pid: number
  readonly child: ChildProcess
  /** What it wrote to stderr (unhandled rejections are reported there). */
  readonly stderr: () => string
  /** Whether it is still running. */
  alive(): boolean
  /** Stops it (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>
}

const APP = fileURLToPath(new URL('./app.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * Starts one app instance with `config` and waits (at most 60 s) for its `ready <port>` line.
 *
 * @example
 * ```ts
 * const app = await startApp({ redisPorts, stacks: { nr: 'node-redis' }, secret })
 * ```
 */
export async function startApp(config: AppConfig): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', APP], {
    cwd: ROOT,
    env: { ...process.env, SCALE_APP: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => reject(new Error(`app did not start within 60 s: ${stderr}`)), 60_000)
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const ready = /^ready (\d+)$/m.exec(stdout)
      if (ready) {
        clearTimeout(timer)
        resolve(Number(ready[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`app exited (${String(code)}) before it was ready: ${stderr}`))
    })
  })
  return {
    port,
    pid: child.pid as number,
    child,
    stderr: () => stderr,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited(child)
      clearTimeout(timer)
    },
  }
}
