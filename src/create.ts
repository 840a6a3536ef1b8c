import { cryptoProvider } from '#crypto'
import { createManager, type SessionManager } from './core/manager.js'
import type { SessionOptions } from './core/options.js'
import type { RegisteredData } from './core/register.js'

/**
 * Creates the session manager for an app. Options are checked here: anything that cannot work
 * throws a `ConfigError` naming the fix, at start-up rather than on a request.
 *
 * The cookie crypto is `node:crypto` on Node, Bun and Deno and WebCrypto on workerd and other
 * edge runtimes, picked by the package's export conditions.
 *
 * @example
 * ```ts
 * import { createSessionManager, CookieStore } from 'cloakroom'
 *
 * const manager = createSessionManager({ store: new CookieStore(), keys: [process.env.SESSION_KEY!] })
 * const response = await manager.handle(request, async (session) => {
 *   const counter = ((await session.get('counter')) ?? 0) as number
 *   session.insert('counter', counter + 1)
 *   return new Response(String(counter + 1))
 * })
 * ```
 */
export function createSessionManager<Data extends object = RegisteredData>(options: SessionOptions): SessionManager<Data> {
  return createManager<Data>(options, cryptoProvider)
}
