import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { RegisteredData, RegisteredFlash } from '../../core/register.js'
import type { Session } from '../../core/session.js'
import { readsRequest, type SessionOptions } from '../../core/options.js'
import { createSessionManager } from '../../create.js'
import { holdSession } from '../../http/late-commit.js'
import { attachedSession, attachSession, cookieHeaderOf, toWebRequest } from '../../http/node-request.js'
import type { JsonShape } from '../../core/json.js'

declare global {
  // Express declares its request type in this global namespace for exactly this kind of merge.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request's session, set by cloakroom's `sessions()` middleware. */
      session: Session<RegisteredData>
    }
  }
}

/**
 * Express middleware (Express 4 and 5) that gives every request a session at `req.session` and
 * commits it before the response head leaves, whatever sends it: `res.send`, `res.json`,
 * `res.redirect`, `res.sendFile`, a piped stream, a 404 or an error handler. Options are checked
 * when it is created: a bad one throws at start-up.
 *
 * A session changed after the head left (`res.write(…); req.session.purge(); res.end()`) is
 * committed again when the response closes, even if the client hung up first (Express cannot tell
 * that from a handler error that cut the reply short); a cookie change that can no longer be sent
 * is logged as a warning.
 *
 * The status the response is sent with decides, whether the handler sent it or an error handler
 * rendered a thrown error (`next(err)`): below 500 the session commits; from 500 nothing does but a
 * `purge()`, which is never dropped. When the session's own store read failed, the reply becomes the
 * manager's empty 500 (or `onError`'s response), even if an error handler had started to render the
 * error.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { MemoryStore } from 'cloakroom'
 * import { sessions } from 'cloakroom/express'
 *
 * declare module 'cloakroom' {
 *   interface Register { data: { counter?: number } } // types req.session for the whole program
 * }
 *
 * const app = express()
 * app.use(sessions({ store: new MemoryStore(), keys: [process.env.SESSION_KEY!] }))
 * app.get('/', async (req, res) => {
 *   const counter = ((await req.session.get('counter')) ?? 0) + 1 // number
 *   req.session.insert('counter', counter)
 *   res.send(`counter: ${counter}`)
 * })
 * ```
 */
export function sessions<Data extends JsonShape<Data> = RegisteredData>(options: SessionOptions<NoInfer<Data>>): RequestHandler {
  const manager = createSessionManager<Data>(options)
  // The web Request is only read by onError and describe: copying every header is wasted work without them.
  const requestOf = readsRequest(options) ? toWebRequest : undefined
  return function cloakroomSessions(req: Request, res: Response, next: NextFunction): void {
    const session = manager.begin(cookieHeaderOf(req))
    // Typed by the global augmentation as Session<RegisteredData>; getSession<Data> gives the generic view.
    req.session = session as unknown as Session<RegisteredData>
    // Kept apart too, so getSession still finds ours if another middleware reassigns req.session.
    attachSession(req, session)
    holdSession(req, res, manager, session, requestOf)
    next()
  }
}

/**
 * The request's session, for code that has the request but wants its own data type, or that runs
 * where the typed `req.session` is not at hand. Throws if the `sessions()` middleware did not run
 * for this request.
 *
 * @example
 * ```ts
 * type Data = { userId?: string }
 * function requireUser(req: Request, res: Response, next: NextFunction) {
 *   getSession<Data>(req).has('userId').then((ok) => (ok ? next() : res.redirect('/login')), next)
 * }
 * ```
 */
export function getSession<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(req: Request): Session<Data, Flash> {
  const session = attachedSession(req)
  if (session === undefined) {
    throw new Error('cloakroom: no session on this request; mount app.use(sessions(options)) before this route')
  }
  return session as unknown as Session<Data, Flash>
}
