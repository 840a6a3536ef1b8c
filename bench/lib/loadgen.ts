/**
 * The load generator, run as its own long-lived process (pinned to its own core by the harness):
 * autocannon with keep-alive connections, each request taking the next of many session cookies in
 * turn and putting back whatever cookie the response set. Reads one JSON job per stdin line and
 * answers each with one JSON result line.
 *
 * @module
 */
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { setCookieLines, updateCookieHeader } from './cookie-jar.js'

/** What the harness asks for. */
export interface LoadJob {
  url: string
  path: string
  /** One `Cookie` header per session; rotated over in order. */
  cookies: string[]
  connections: number
  /** Exactly this many requests (so that every completed write is counted)… */
  amount?: number
  /** …or this many seconds. */
  seconds?: number
  /** Keep the cookies responses set [true]; false sends the given cookies unchanged, e.g. none at all. */
  jar?: boolean
}

/** What the harness gets back. */
export interface LoadResult {
  ok: number
  non2xx: number
  errors: number
  elapsedMs: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** The cookies after the run (new values set by the server replaced the old ones). */
  cookies: string[]
}

interface Autocannon {
  (options: Record<string, unknown>, callback: (error: unknown, result: AutocannonResult) => void): AutocannonInstance
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void
}
interface AutocannonResult {
  '2xx': number
  non2xx: number
  errors: number
  timeouts: number
  start: Date
  finish: Date
}
interface Context {
  slot?: number
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/**
 * Runs one job and resolves with its result.
 *
 * @example
 * ```ts
 * const result = await runLoad({ url: 'http://127.0.0.1:4100', path: '/read', cookies, connections: 32, seconds: 2 })
 * ```
 */
export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
  const cookies = [...job.cookies]
  let next = 0
  let latencies = new Float64Array(1 << 16)
  let count = 0
  const request = {
    method: 'GET',
    path: job.path,
    setupRequest: (req: Record<string, unknown>, context: Context) => {
      const slot = next++ % cookies.length
      context.slot = slot
      const cookie = cookies[slot]
      return { ...req, headers: cookie ? { cookie } : {} }
    },
    onResponse: (_status: number, _body: unknown, context: Context, headers: Record<string, string | string[]>) => {
      const slot = context.slot
      if (slot === undefined || job.jar === false) return
      const lines = setCookieLines(headers)
      if (lines.length > 0) cookies[slot] = updateCookieHeader(cookies[slot] ?? '', lines)
    },
  }
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        pipelining: 1,
        ...(job.amount === undefined ? { duration: job.seconds ?? 2 } : { amount: job.amount }),
        requests: [request],
        timeout: 10,
      },
      (error, value) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(value)),
    )
    // autocannon's own histogram keeps whole milliseconds; these latencies are microsecond-grained.
    instance.on('response', (_client, _status, _bytes, ms) => {
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2)
        grown.set(latencies)
        latencies = grown
      }
      latencies[count++] = ms
    })
  })
  const sorted = latencies.subarray(0, count).sort()
  const elapsedMs = result.finish.getTime() - result.start.getTime()
  return {
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    elapsedMs,
    rps: (result['2xx'] * 1000) / elapsedMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    cookies,
  }
}

if (process.argv[2] === '--serve') {
  // One job at a time: the harness waits for each answer before it sends the next line.
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue
    try {
      process.stdout.write(JSON.stringify(await runLoad(JSON.parse(line) as LoadJob)) + '\n')
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: String(error) }) + '\n')
    }
  }
}
