/**
 * What the benchmark needs of the machine: whether processes can be pinned apart, and a free port.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { createServer } from 'node:net'
import { cpus } from 'node:os'

/**
 * True when `taskset` works here and there are at least two cores to pin the server and the load
 * generator apart.
 *
 * @example
 * ```ts
 * const cpusFor = canPinApart() ? { server: '0', loadgen: '1' } : undefined
 * ```
 */
export function canPinApart(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return cpus().length >= 2
  } catch {
    return false
  }
}

/**
 * A loopback port nobody listens on at the moment of the call.
 *
 * @example
 * ```ts
 * const port = await freePort()
 * ```
 */
export async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const address = probe.address()
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}
