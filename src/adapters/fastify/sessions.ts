import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify'
import { ConfigError } from '../../core/errors.js'
import type { RegisteredData, RegisteredFlash } from '../../core/register.js'
import type { Session } from '../../core/session.js'
import { readsRequest, type SessionOptions } from '../../core/options.js'
import { createSessionManager } from '../../create.js'
import { cookieHeaderOf, toWebRequest } from '../../http/node-request.js'
import { replyHeaderView } from './reply-headers.js'
import { foldWebResponse, replaceReply } from './replace.js'
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
  let manager
  try {
    manager = createSessionManager(options)
  } catch (error) {
    done(error as Error)
    return
  }
  if (fastify.hasRequestDecorator('session')) {
    done(
      new ConfigError(
        'request.session is already decorated in this scope or a parent: register cloakroom/fastify once per scope chain (children share it), and not next to another session plugin (@fastify/session, @fastify/secure-session)',
      ),
    )
    return
  }
  const engine = manager
  // The web Request is only read by onError and describe: copying every header is wasted work without them.
  const requestFor = !readsRequest(options) ? (): undefined => undefined : (request: FastifyRequest): Request => toWebRequest(request.raw)
  // The requests whose route let the session's own store failure escape, learned in onError
  // before Fastify renders it, with the response to answer instead.
  const thrown = new WeakMap<FastifyRequest, Promise<Response>>()

  fastify.decorateRequest('session', null as unknown as Session<RegisteredData>)

  fastify.addHook('onRequest', function beginSession(request, _reply, next) {
    request.session = engine.begin(cookieHeaderOf(request.raw))
    next()
  })

  fastify.addHook('onError', function noteThrow(request, _reply, error, next) {
    const session = request.session as Session<RegisteredData> | null
    const failure = session === null ? null : engine.failureResponse(session, error, requestFor(request))
    if (failure !== null) thrown.set(request, failure)
    next()
  })

  fastify.addHook('onSend', function commitSession(request, reply, payload, next) {
    // null when an earlier onRequest hook answered before ours ran.
    const session = request.session as Session<RegisteredData> | null
    if (session === null) return next(null, payload)
    const failure = thrown.get(request)
    if (failure !== undefined) {
      // The session's own store failure gets the manager's opaque answer instead of Fastify's
      // error body. Any other error payload commits by the status it is sent with, below.
      failure.then((replacement) => next(null, replaceReply(reply, payload, replacement)))
      return
    }
    if (!engine.pending(session)) return next(null, payload)
    // A web Response payload carries its own status and headers, which Fastify would lay over
    // ours after onSend; folding them into the reply first lets ours merge with them.
    const body = foldWebResponse(reply, payload)
    engine.commit(session, { status: reply.statusCode, headers: replyHeaderView(reply) }, requestFor(request)).then(
      (replacement) => next(null, replacement === null ? body : replaceReply(reply, body, replacement)),
      // commit never rejects for session errors; anything else must still not reach Fastify's
      // error handler from here, where it would render the message.
      () => next(null, replaceReply(reply, body, new Response(null, { status: 500, headers: { 'cache-control': 'no-store' } }))),
    )
  })

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
