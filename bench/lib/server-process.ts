/**
 * Starts one benchmark server as its own process, pinned to its own core when `taskset` exists,
 * and reads the CPU time it has used from `/proc`.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createInterface } from 'node:readline'

/** A running server. */
export interface ServerProcess {
  readonly pid: number
  readonly port: number
  /** User + system CPU time of the whole process (all threads) so far, in microseconds. */
  cpuMicros(): number
  /** Resident memory now, in bytes. */
  rssBytes(): number
  stop(): Promise<void>
}

/** How to start a server. */
export interface ServerSpec {
  /** The server file, relative to the repository root. */
  file: string
  port: number
  env?: Record<string, string>
  /** Cores to pin to (`taskset -c`), or undefined to leave it to the scheduler. */
  cpus?: string | undefined
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[]
  cwd: string
}

// /proc reports CPU time in clock ticks; Linux has used 100 per second on every common build.
const TICKS_PER_SECOND = 100

/**
 * Spawns `node --import tsx <file>` and resolves once it printed `ready`.
 *
 * @example
 * ```ts
 * const server = await startServer({ file: 'bench/servers/bare-node.ts', port: 4100, cwd: root, cpus: '0' })
 * const before = server.cpuMicros()
 * ```
 */
export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const nodeArgs = [...(spec.nodeFlags ?? []), '--import', 'tsx', spec.file]
  const [command, args] =
    spec.cpus === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', spec.cpus, process.execPath, ...nodeArgs]]
  const child = spawn(command, args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env, PORT: String(spec.port), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  await waitReady(child, () => stderr, spec.file)
  const pid = child.pid as number
  return {
    pid,
    port: spec.port,
    cpuMicros: () => {
      // Fields 14 and 15 (utime, stime) come after the parenthesised command name.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND
    },
    rssBytes: () => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      return match ? Number(match[1]) * 1024 : 0
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

async function waitReady(child: ChildProcess, stderr: () => string, file: string): Promise<void> {
  const lines = createInterface({ input: child.stdout! })
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start within 30 s:\n${stderr()}`)), 30_000)
    lines.on('line', (line) => {
      if (line.trim() === 'ready') {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${file} exited with ${String(code)} before it was ready:\n${stderr()}`))
    })
  })
  await ready
  // Keep draining stdout so a chatty server never blocks on a full pipe.
  child.stdout!.resume()
}
