import type { FastifyRequest, onErrorHookHandler, onRequestHookHandler, onSendHookHandler } from 'fastify'
import { commitOrFailure } from '../../core/commit-rule.js'
import type { SessionEngine } from '../../core/engine.js'
import { serverErrorResponse } from '../../core/response-headers.js'
import type { RegisteredData } from '../../core/register.js'
import type { Session } from '../../core/session.js'
import { cookieHeaderOf } from '../../http/node-request.js'
import { replyHeaderView } from './reply-headers.js'
import { foldWebResponse, replaceReply } from './replace.js'

/**
 * The plugin's three hooks over one engine: `onRequest` begins the session, `onError` notes what a
 * route threw (before Fastify renders it), `onSend` commits before the head leaves. The session's
 * own store failure, thrown and left uncaught, gets the engine's opaque answer instead of
 * Fastify's error body; any other payload commits by the status it is sent with.
 *
 * @example
 * ```ts
 * const hooks = sessionHooks(engine, () => undefined)
 * fastify.addHook('onRequest', hooks.onRequest)
 * ```
 */
export function sessionHooks(
  engine: SessionEngine<RegisteredData>,
  requestFor: (request: FastifyRequest) => Request | undefined,
): { onRequest: onRequestHookHandler; onError: onErrorHookHandler; onSend: onSendHookHandler<unknown> } {
  const thrown = new WeakMap<FastifyRequest, unknown>()
  return {
    onRequest: function beginSession(request, _reply, next) {
      request.session = engine.begin(cookieHeaderOf(request.raw))
      next()
    },
    onError: function noteThrow(request, _reply, error, next) {
      thrown.set(request, error)
      next()
    },
    onSend: function commitSession(request, reply, payload, next) {
      // null when an earlier onRequest hook answered before ours ran.
      const session = request.session as Session<RegisteredData> | null
      const error = thrown.get(request)
      if (session === null || (error === undefined && !engine.pending(session))) return next(null, payload)
      // A web Response payload carries its own status and headers, which Fastify would lay over
      // ours after onSend; folding them into the reply first lets ours merge with them.
      const body = foldWebResponse(reply, payload)
      const settling = commitOrFailure(engine, session, { status: reply.statusCode, headers: replyHeaderView(reply) }, requestFor(request), error)
      if (settling === null) return next(null, body)
      settling.then(
        (replacement) => next(null, replacement === null ? body : replaceReply(reply, body, replacement)),
        // commit never rejects for session errors; anything else must still not reach Fastify's
        // error handler from here, where it would render the message.
        () => next(null, replaceReply(reply, body, serverErrorResponse())),
      )
    },
  }
}
