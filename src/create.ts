import { cryptoProvider } from '#crypto'
import { createManager, type SessionManager } from './core/manager.js'
import type { SessionOptions } from './core/options.js'
import type { RegisteredData, RegisteredFlash } from './core/register.js'
import type { JsonShape } from './core/json.js'

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
 * type Data = { counter?: number } // JSON values only: a Date or a Map does not compile
 * const manager = createSessionManager<Data>({ store: new CookieStore(), keys: [process.env.SESSION_KEY!] })
 * const response = await manager.handle(request, async (session) => {
 *   const counter = ((await session.get('counter')) ?? 0) + 1 // number
 *   session.insert('counter', counter) // session.insert('counter', 'x') does not compile
 *   return new Response(String(counter))
 * })
 *
 * // Flash messages are typed by the second type argument (or Register's `flash`):
 * const app = createSessionManager<Data, { notice: string }>({ store: new CookieStore(), keys: [process.env.SESSION_KEY!] })
 * ```
 */
export function createSessionManager<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(
  options: SessionOptions<Data>,
): SessionManager<Data, Flash> {
  return createManager<Data, Flash>(options, cryptoProvider)
}
