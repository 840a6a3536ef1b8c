import { ConfigError } from '../core/errors.js'
import type { ResolvedOptions } from '../core/options.js'
import type { SessionStore } from '../core/store.js'
import type { CryptoProvider } from '../crypto/types.js'
import { ActixCookies } from './cookie-codec.js'
import { ACTIX_STORE, type ActixCapableStore } from './store-hook.js'
import { ACTIX_ID, CLOAKROOM_ID, TransitionStore } from './transition-store.js'

/**
 * What the manager swaps in under the `actixSession` option: the cookie format, and the store it
 * talks to, both formats side by side: the written one, and the other read and moved over.
 *
 * @example
 * ```ts
 * const seam = actixSeam(resolved, cryptoProvider) // undefined without actixSession
 * ```
 */
export function actixSeam(options: ResolvedOptions, provider: CryptoProvider): { cookies: ActixCookies; store: SessionStore } | undefined {
  const { actix } = options
  if (actix === undefined) return undefined
  if (provider.actix === undefined) throw new ConfigError(`the ${provider.name} crypto implementation has no actix-session support; actixSession needs cloakroom's own crypto provider`)
  const cookies = new ActixCookies(provider.actix, actix, options.contentSecurity, options.cookie.name)
  const view = (options.store as ActixCapableStore)[ACTIX_STORE]({ prefix: actix.prefix })
  // Writing actix-session's format, cloakroom's own cookies (made before the switch) still open and move over.
  if (actix.write) return { cookies, store: new TransitionStore(view, options.store, CLOAKROOM_ID, () => null) }
  const { absoluteTimeoutMs } = options
  return { cookies, store: new TransitionStore(options.store, view, ACTIX_ID, (now) => (absoluteTimeoutMs === null ? null : now + absoluteTimeoutMs)) }
}
