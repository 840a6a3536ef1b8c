import type { RequestListener } from 'node:http'
import { forwardTo } from '../support/harness.js'
import { listen } from '../support/node-http-harness.js'
import type { RunningApp } from '../../src/testing/adapter-conformance.js'

/**
 * Serves a node:http request listener (an Express app, a `withSessions` listener) on a free
 * loopback port and re-aims the suite's requests at it, redirects not followed.
 *
 * @example
 * ```ts
 * const app = await serveListener(express().use(sessions(options)))
 * const response = await app.fetch(new Request('http://localhost/'))
 * await app.close()
 * ```
 */
export async function serveListener(listener: RequestListener): Promise<RunningApp & { url: string }> {
  const server = await listen(listener)
  return {
    url: server.url,
    fetch: forwardTo(server.url),
    close: () => server.close(),
  }
}
