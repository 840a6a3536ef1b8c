import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RegisteredData, RegisteredFlash } from '../../core/register.js'
import type { Session } from '../../core/session.js'
import { readsRequest, type SessionOptions } from '../../core/options.js'
import { createSessionManager } from '../../create.js'
import { holdSession } from '../../http/late-commit.js'
import { attachedSession, attachSession, cookieHeaderOf, toWebRequest } from '../../http/node-request.js'
import type { JsonShape } from '../../core/json.js'

/** A request handler that also receives the request's session. It may be sync or async. */
export type SessionRequestHandler<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash> = (
  req: IncomingMessage,
  res: ServerResponse,
  session: Session<Data, Flash>,
) => void | Promise<void>

/** {@link SessionOptions} plus what only the node:http adapter needs. */
export interface NodeSessionOptions<Data = RegisteredData> extends SessionOptions<Data> {
  /**
   * Told of every error the handler throws (or its promise rejects with), other than the session's
   * own store failure, which the manager already logs. Default: `console.error`. An error thrown
   * here is ignored: there is nobody left to tell.
   */
  onHandlerError?: (error: unknown, req: IncomingMessage) => void
}

function reportToConsole(error: unknown, req: IncomingMessage): void {
  console.error(`cloakroom: the handler for ${req.method ?? 'GET'} ${req.url ?? '/'} threw`, error)
}

/**
 * Wraps a node:http handler so that it receives the request's session, and so that the session is
 * committed before the response head leaves (`writeHead`, `write`, `end`, `flushHeaders`, a piped
 * stream: the head waits for the store). Returns a request listener for `http.createServer` (or
 * `https`). Options are checked here: a bad one throws at start-up.
 *
 * A session changed after the head left (`res.write(…); session.purge(); res.end()`) is committed
 * again when the response closes, even if the client hung up first; a cookie change that can no
 * longer be sent is logged as a warning.
 *
 * A handler that throws (or rejects) commits nothing but a `purge()` (a 500, by the rule every
 * adapter follows): if nothing was sent, the client gets an empty 500 with `Cache-Control: no-store`
 * (and a purge's removal cookie); if the head was already sent but the reply not finished, the
 * connection is destroyed; either way the error goes to `onHandlerError`, never to an unhandled
 * rejection. If what it threw was the session's own store failure, the reply is the manager's
 * (an empty 500, or `onError`'s response).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { MemoryStore } from 'cloakroom'
 * import { withSessions } from 'cloakroom/node'
 *
 * type Data = { counter?: number }
 * const server = createServer(withSessions<Data>({ store: new MemoryStore(), keys: [process.env.SESSION_KEY!] }, async (req, res, session) => {
 *   const counter = ((await session.get('counter')) ?? 0) + 1 // number
 *   session.insert('counter', counter)
 *   res.end(`counter: ${counter}`)
 * }))
 * server.listen(3000)
 * ```
 */
export function withSessions<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(
  options: NodeSessionOptions<Data>,
  handler: SessionRequestHandler<Data, Flash>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { onHandlerError = reportToConsole, ...sessionOptions } = options
  const manager = createSessionManager<Data>(sessionOptions)
  // The web Request is only read by onError and describe: copying every header is wasted work without them.
  const requestOf = readsRequest(options) ? toWebRequest : undefined

  return function cloakroomRequestListener(req: IncomingMessage, res: ServerResponse): void {
    const session = manager.begin(cookieHeaderOf(req))
    attachSession(req, session)
    const commits = holdSession(req, res, manager, session, requestOf)
    try {
      const result = handler(req, res, session as unknown as Session<Data, Flash>)
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        Promise.resolve(result).then(undefined, (error: unknown) => commits.fail(error, onHandlerError))
      }
    } catch (error) {
      commits.fail(error, onHandlerError)
    }
  }
}

/**
 * The request's session, for code that has the request but not the handler's `session` argument
 * (helpers called from the handler). Throws if the request did not come through `withSessions`.
 *
 * @example
 * ```ts
 * async function currentUser(req: IncomingMessage): Promise<string | undefined> {
 *   return (await getSession<{ userId?: string }>(req).get('userId'))
 * }
 * ```
 */
export function getSession<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(
  req: IncomingMessage,
): Session<Data, Flash> {
  const session = attachedSession(req)
  if (session === undefined) {
    throw new Error('cloakroom: no session on this request; serve it through withSessions(options, handler)')
  }
  return session as Session<Data, Flash>
}
