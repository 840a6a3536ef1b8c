import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify'
import { ConfigError } from '../../core/errors.js'
import type { RegisteredData, RegisteredFlash } from '../../core/register.js'
import type { Session } from '../../core/session.js'
import { readsRequest, type SessionOptions } from '../../core/options.js'
import { createSessionManager } from '../../create.js'
import type { SessionManager } from '../../core/manager.js'
import { toWebRequest } from '../../http/node-request.js'
import { sessionHooks } from './hooks.js'
import type { JsonShape } from '../../core/json.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's session, set by the `cloakroom/fastify` plugin (`null` outside its scope). */
    session: Session<RegisteredData>
  }
}

/**
 * The Fastify plugin: `app.register(sessions, options)`, then `request.session` in any route of
 * that scope and its children. Options are checked at registration: a bad one makes `register`
 * (and `ready()`) fail with the `ConfigError`.
 *
 * The session is committed in `onSend`, before the head leaves, for every payload Fastify sends:
 * strings, buffers, streams, redirects, the 404 handler and error payloads. The status the reply
 * is sent with decides, whether the route returned or threw and the error handler (Fastify's own,
 * or yours from `setErrorHandler`) rendered the error: below 500 the session commits, from 500
 * only a `purge()` does. `reply.hijack()` and writes to `reply.raw` skip `onSend` and are outside
 * the guarantee.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { CookieStore } from 'cloakroom'
 * import { sessions } from 'cloakroom/fastify'
 *
 * declare module 'cloakroom' {
 *   interface Register { data: { counter?: number } } // types request.session for the whole program
 * }
 *
 * const app = Fastify()
 * await app.register(sessions, { store: new CookieStore(), keys: [process.env.SESSION_KEY!] })
 * app.get('/', async (request) => {
 *   const counter = ((await request.session.get('counter')) ?? 0) + 1 // number
 *   request.session.insert('counter', counter)
 *   return { counter }
 * })
 * ```
 */
export const sessions: FastifyPluginCallback<SessionOptions> = function cloakroomSessions(
  fastify: FastifyInstance,
  options: SessionOptions,
  done: (error?: Error) => void,
): void {
  let engine: SessionManager<RegisteredData>
  try {
    engine = createSessionManager(options)
    if (fastify.hasRequestDecorator('session')) {
      throw new ConfigError(
        'request.session is already decorated in this scope or a parent: register cloakroom/fastify once per scope chain (children share it), and not next to another session plugin (@fastify/session, @fastify/secure-session)',
      )
    }
  } catch (error) {
    done(error as Error)
    return
  }
  // The web Request is only read by onError and describe: copying every header is wasted work without them.
  const requestFor = !readsRequest(options) ? (): undefined => undefined : (request: FastifyRequest): Request => toWebRequest(request.raw)
  fastify.decorateRequest('session', null as unknown as Session<RegisteredData>)
  const hooks = sessionHooks(engine, requestFor)
  fastify.addHook('onRequest', hooks.onRequest)
  fastify.addHook('onError', hooks.onError)
  fastify.addHook('onSend', hooks.onSend)
  done()
}

// What fastify-plugin would set: no encapsulation (the hooks apply to the scope that registers
// the plugin), a display name, and the Fastify version it is written for.
const meta = sessions as unknown as Record<symbol, unknown>
meta[Symbol.for('skip-override')] = true
meta[Symbol.for('fastify.display-name')] = 'cloakroom'
meta[Symbol.for('plugin-meta')] = { name: 'cloakroom', fastify: '5.x' }

/**
 * The request's session, for code that has the request but not the plugin's typing (helpers,
 * other plugins). Throws if `sessions` is not registered in the request's scope.
 *
 * @example
 * ```ts
 * app.get('/account', async (request, reply) => {
 *   const session = getSession(request)
 *   if (!(await session.has('userId'))) return reply.redirect('/login')
 *   return 'welcome back'
 * })
 * ```
 */
export function getSession<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(
  request: FastifyRequest,
): Session<Data, Flash> {
  const session = (request as { session?: Session<RegisteredData> | null }).session
  if (session === undefined || session === null) {
    throw new Error('cloakroom: no session on this request; register app.register(sessions, options) in this route\'s scope or a parent scope')
  }
  return session as unknown as Session<Data, Flash>
}
