/**
 * Making the sessions a run rotates over, checking that a library really reads them, and reading
 * the counters back afterwards to count lost writes.
 *
 * @module
 */
import { updateCookieHeader } from './cookie-jar.js'

async function inParallel<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++
      results[index] = await task(index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return results
}

async function get(url: string, cookie: string | undefined): Promise<{ status: number; body: string; setCookies: string[] }> {
  const response = await fetch(url, cookie === undefined ? {} : { headers: { cookie } })
  return { status: response.status, body: await response.text(), setCookies: response.headers.getSetCookie() }
}

/**
 * Makes `count` distinct sessions, each with `counter = 1`, by calling `/counter` without a cookie,
 * and returns one `Cookie` header per session.
 *
 * @example
 * ```ts
 * const cookies = await makeSessions('http://127.0.0.1:4100', 1000)
 * ```
 */
export async function makeSessions(base: string, count: number): Promise<string[]> {
  return inParallel(count, 32, async () => {
    const { status, body, setCookies } = await get(`${base}/counter`, undefined)
    if (status !== 200 || body !== '1' || setCookies.length === 0) {
      throw new Error(`making a session failed: ${status} ${JSON.stringify(body)} with ${setCookies.length} Set-Cookie lines`)
    }
    return updateCookieHeader('', setCookies)
  })
}

/**
 * Fails unless the server reads back what a session holds: a benchmark of a library that silently
 * ignores its cookie would flatter it.
 *
 * @example
 * ```ts
 * await checkSessionsWork(base, cookies)
 * ```
 */
export async function checkSessionsWork(base: string, cookies: readonly string[]): Promise<void> {
  const { status, body } = await get(`${base}/read`, cookies[0])
  if (status !== 200 || body !== '1') throw new Error(`/read with a fresh session answered ${status} ${JSON.stringify(body)}, not "1"`)
}

/**
 * The sum of every session's counter, read through `/read`.
 *
 * @example
 * ```ts
 * const lost = completedWrites - ((await sumCounters(base, cookies)) - before)
 * ```
 */
export async function sumCounters(base: string, cookies: readonly string[]): Promise<number> {
  const values = await inParallel(cookies.length, 32, async (index) => {
    const { status, body } = await get(`${base}/read`, cookies[index])
    if (status !== 200) throw new Error(`/read answered ${status}`)
    return Number(body)
  })
  return values.reduce((sum, value) => sum + value, 0)
}
