/**
 * Counts the commands a server sends to Redis, through `MONITOR`: commands a Lua script runs
 * inside Redis are told apart (they come from `lua`) and left out, so an `EVALSHA` counts once. Only
 * commands naming one of the bench's key prefixes are counted, so other clients of the same Redis
 * do not add to them. MONITOR slows Redis down: it runs on a short extra run, never a measured one.
 *
 * @module
 */
import { createClient } from 'redis'

/** Key prefixes the benchmark servers use. */
const BENCH_PREFIXES = ['cloakroom-bench:', 'express-session-bench:']

/**
 * Runs `during` while monitoring, and returns the client commands per request, by command name.
 * `null` when Redis cannot be reached.
 *
 * @example
 * ```ts
 * const perRequest = await redisCommandsPerRequest(url, () => loadgen.run(job)) // { hgetall: 1, evalsha: 1 }
 * ```
 */
export async function redisCommandsPerRequest(url: string, during: () => Promise<{ ok: number; non2xx: number }>): Promise<Record<string, number> | null> {
  const monitor = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1000 } })
  monitor.on('error', () => {})
  const counts: Record<string, number> = {}
  try {
    await monitor.connect()
    await monitor.monitor((line: string) => {
      // e.g. 1700000000.123456 [0 127.0.0.1:5555] "evalsha" "abc…" "1" "cloakroom-bench:…"
      const match = /^\S+ \[\d+ ([^\]]+)\] "([^"]+)"(.*)$/.exec(line)
      if (match === null || match[1] === 'lua') return
      if (!BENCH_PREFIXES.some((prefix) => (match[3] ?? '').includes(prefix))) return
      const name = (match[2] ?? '').toLowerCase()
      counts[name] = (counts[name] ?? 0) + 1
    })
    const run = await during()
    // MONITOR lines can trail the last reply by a moment.
    await new Promise((resolve) => setTimeout(resolve, 200))
    const requests = run.ok + run.non2xx
    const perRequest: Record<string, number> = {}
    for (const [name, n] of Object.entries(counts)) perRequest[name] = Math.round((n / requests) * 1000) / 1000
    return perRequest
  } catch {
    return null
  } finally {
    if (monitor.isOpen) monitor.destroy()
  }
}
