/**
 * One server of `path.ts`, in its own process: the server file is imported as the load benchmark
 * runs it (its `listen` is caught to learn the `http.Server`), then requests are handed to that
 * server in-process through light-my-request: no sockets, no load generator, only the server's own
 * JavaScript, timed with `process.cpuUsage()`. Reads one JSON job per stdin line, answers one line.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { Server } from 'node:http'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { updateCookieHeader } from './cookie-jar.js'

interface InjectResponse {
  statusCode: number
  body: string
  headers: Record<string, string | string[] | undefined>
}
type Inject = (dispatch: (req: unknown, res: unknown) => void, options: { method: string; url: string; headers: Record<string, string> }) => Promise<InjectResponse>

/** A job: `amount` requests to `route`, `concurrency` at a time, each with the next session's cookie. */
export interface PathJob {
  route: string
  amount: number
  concurrency: number
}

/** What a job measured. */
export interface PathResult {
  cpuUsPerRequest: number
  non2xx: number
}

const inject = createRequire(import.meta.url)('light-my-request') as Inject
const servers: Server[] = []
const listen = Server.prototype.listen
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  servers.push(this)
  return listen.apply(this, args as Parameters<typeof listen>)
} as typeof listen

const file = process.argv[2]
if (file === undefined) throw new Error('usage: path-child.ts <server file>')
await import(pathToFileURL(file).href)
for (let i = 0; servers.length === 0 && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 10))
const target = servers[0]
if (target === undefined) throw new Error(`${file} never called listen`)
const dispatch = (req: unknown, res: unknown): void => void target.emit('request', req, res)

async function send(route: string, cookie: string | undefined): Promise<InjectResponse> {
  return inject(dispatch, { method: 'GET', url: route, headers: cookie === undefined ? {} : { cookie } })
}

function setCookies(response: InjectResponse): string[] {
  const value = response.headers['set-cookie']
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

const jars = new Map<string, string[]>()
const sessionCount = Number(process.env['PATH_SESSIONS'] ?? 1000)

async function sessionsFor(route: string): Promise<string[]> {
  const key = route === '/login' ? route : '/counter'
  let jar = jars.get(key)
  if (jar === undefined) {
    jar = []
    for (let i = 0; i < sessionCount; i++) {
      // A bare server sets no cookie: it still gets one per request, so every request has the same shape.
      const lines = setCookies(await send('/counter', undefined))
      jar.push(lines.length > 0 ? updateCookieHeader('', lines) : `id=${randomBytes(32).toString('base64url')}`)
    }
    jars.set(key, jar)
  }
  return jar
}

async function run(job: PathJob): Promise<PathResult> {
  const jar = await sessionsFor(job.route)
  let next = 0
  let non2xx = 0
  const worker = async (): Promise<void> => {
    while (next < job.amount) {
      const slot = next++ % jar.length
      const response = await send(job.route, jar[slot] || undefined)
      if (response.statusCode >= 300) non2xx++
      const lines = setCookies(response)
      if (lines.length > 0) jar[slot] = updateCookieHeader(jar[slot] ?? '', lines)
    }
  }
  const before = process.cpuUsage()
  await Promise.all(Array.from({ length: job.concurrency }, worker))
  const used = process.cpuUsage(before)
  return { cpuUsPerRequest: (used.user + used.system) / job.amount, non2xx }
}

const script = process.env['PATH_JOBS']
if (script !== undefined) {
  // Under callgrind (see path.ts): each measured job is framed by calls that dump its counters.
  for (const job of JSON.parse(script) as (PathJob & { measure?: boolean })[]) {
    if (job.measure === true) process.constrainedMemory()
    await run(job)
    if (job.measure === true) process.constrainedMemory()
  }
  process.exit(0)
}
process.stdout.write('child-ready\n')
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue
  try {
    process.stdout.write(JSON.stringify(await run(JSON.parse(line) as PathJob)) + '\n')
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error) }) + '\n')
  }
}
process.exit(0)
