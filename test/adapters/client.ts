import { request as httpRequest } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import { performance } from 'node:perf_hooks'

/** What a raw node:http client saw, with the instant (performance.now()) the head arrived. */
export interface Received {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  headAt: number
}

/**
 * Requests `url` with node:http (so the instant the head arrives can be compared with server-side
 * instants of this same process) and reads the whole body.
 *
 * @example
 * ```ts
 * const received = await requestRaw(`${server.url}/login`, { method: 'POST' })
 * ```
 */
export function requestRaw(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: { connection: 'close', ...options.headers } }, (res) => {
      const headAt = performance.now()
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), headAt }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** The `name=value` pair of the Set-Cookie line for `name`, for a follow-up request's Cookie header. */
export function cookiePair(headers: IncomingHttpHeaders, name = 'id'): string {
  const line = (headers['set-cookie'] ?? []).find((candidate) => candidate.startsWith(`${name}=`))
  if (line === undefined) throw new Error(`no ${name} cookie in the response`)
  return line.split(';')[0] as string
}
