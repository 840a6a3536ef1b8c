import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Whether a `redis-server` binary is on the PATH.
 *
 * @example
 * ```ts
 * if (!hasRedisServer()) console.warn('redis-server missing')
 * ```
 */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

/**
 * Whether something answers PING with PONG on 127.0.0.1:`port` within `timeoutMs`.
 *
 * @example
 * ```ts
 * const up = await redisAnswers(6379)
 * ```
 */
export function redisAnswers(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')))
  })
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free TCP port on 127.0.0.1 below 55,000 whose cluster bus port (port + 10,000) is free too.
 *
 * @example
 * ```ts
 * const port = await freePort()
 * ```
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000)
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port
  }
  throw new Error('no free port pair found')
}

/** A `redis-server` child process that a test owns. */
export interface RedisProcess {
  readonly port: number
  readonly dir: string
  readonly child: ChildProcess
  /** Sends a signal to this process only (SIGKILL, SIGSTOP, SIGCONT …). */
  signal(signal: NodeJS.Signals): void
  /** Kills the process (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>
  /** Stops the process (SIGCONT first, in case it was stopped), waits for exit, removes its directory. */
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()
process.once('exit', () => {
  // Last resort when a test run dies before afterAll: never leave servers behind.
  for (const child of running) child.kill('SIGKILL')
})

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * Starts `redis-server` on `port` (a free one if omitted) with no persistence, in its own temporary
 * directory, and waits until it answers PING.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer()
 * try { … } finally { await redis.stop() }
 * ```
 */
export async function startRedisServer(options: { port?: number; args?: string[]; dir?: string } = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort())
  const ownDir = options.dir === undefined
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cloakroom-redis-'))
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(options.args ?? [])],
    { stdio: 'ignore' },
  )
  running.add(child)
  child.once('exit', () => running.delete(child))
  const proc: RedisProcess = {
    port,
    dir,
    child,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    kill: async () => {
      proc.signal('SIGKILL')
      await exited(child)
    },
    stop: async () => {
      proc.signal('SIGCONT')
      proc.signal('SIGTERM')
      const timer = setTimeout(() => proc.signal('SIGKILL'), 3000)
      await exited(child)
      clearTimeout(timer)
      if (ownDir) rmSync(dir, { recursive: true, force: true })
    },
  }
  const deadline = Date.now() + 10_000
  while (!(await redisAnswers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await proc.stop()
      throw new Error(`redis-server on port ${port} did not start`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return proc
}
