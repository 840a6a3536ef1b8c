import type { IncomingMessage } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { commitPurgeOnly } from '../../core/commit-rule.js'
import { commitToResponse } from '../../core/response-headers.js'
import type { RegisteredData, RegisteredFlash } from '../../core/register.js'
import type { Session } from '../../core/session.js'
import type { SessionOptions } from '../../core/options.js'
import { createSessionManager } from '../../create.js'
import { cookieHeaderOf } from '../../http/node-request.js'
import type { JsonShape } from '../../core/json.js'

/** The context variables the middleware sets: `c.get('session')`. */
export interface SessionVariables<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash> {
  session: Session<Data, Flash>
}

/**
 * The Hono environment of an app whose sessions hold `Data` (and flash messages `Flash`):
 * `c.get('session')` is then a `Session<Data, Flash>` in every handler, without declaring
 * `Register` for the whole program.
 *
 * @example
 * ```ts
 * type Data = { counter?: number }
 * const app = new Hono<SessionEnv<Data>>()
 * app.use(sessions<Data>(options))
 * app.get('/', async (c) => c.text(String((await c.get('session').get('counter')) ?? 0)))
 * ```
 */
export interface SessionEnv<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash> {
  Variables: SessionVariables<Data, Flash>
}

declare module 'hono' {
  interface ContextVariableMap {
    session: Session<RegisteredData>
  }
}

/**
 * Hono middleware that gives every request a session at `c.get('session')` and commits it before
 * the response leaves. Options are checked when it is created: a bad one throws at start-up.
 *
 * The status of the response decides, whether the handler returned it or threw an error that
 * `app.onError` (or Hono's default, `HTTPException.getResponse()`) rendered: below 500 the session
 * commits, from 500 only a `purge()` does. An error that escapes the middleware (a thrown non-Error,
 * an `onError` that throws) commits only a purge's record deletion, then goes on.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { CookieStore } from 'cloakroom'
 * import { sessions, type SessionEnv } from 'cloakroom/hono'
 *
 * type Data = { counter?: number }
 * const app = new Hono<SessionEnv<Data>>() // or declare Register once for the whole program
 * app.use(sessions<Data>({ store: new CookieStore(), keys: [process.env.SESSION_KEY!] }))
 * app.get('/', async (c) => {
 *   const session = c.get('session')
 *   const counter = ((await session.get('counter')) ?? 0) + 1 // number
 *   session.insert('counter', counter)
 *   return c.text(`counter: ${counter}`)
 * })
 * ```
 */
export function sessions<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(
  options: SessionOptions<Data>,
): MiddlewareHandler<SessionEnv<Data, Flash>> {
  const manager = createSessionManager<Data>(options)
  return async function cloakroomSessions(c, next) {
    // On @hono/node-server, read from the Node request (c.env.incoming): c.req would first build a web
    // Headers of every request header, which costs more than the rest of an untouched request's session work.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
    const session = manager.begin(incoming?.headers === undefined ? c.req.header('cookie') : cookieHeaderOf(incoming))
    c.set('session', session as unknown as Session<Data, Flash>)
    try {
      await next()
    } catch (error) {
      await commitPurgeOnly(manager, session, c.req.raw)
      throw error
    }
    // Hono has already rendered a thrown error into c.res: it commits by its status like any response,
    // unless what was thrown is the session's own store failure, which gets the opaque answer.
    if (c.error === undefined && !manager.pending(session)) return
    const response = c.res
    const committed = await commitToResponse(manager, session, response, c.req.raw, c.error)
    if (committed !== response) {
      // Assigning c.res merges the old response's headers into the new one and drops the new
      // Set-Cookie lines when the old response had some; clearing it first avoids the merge.
      c.res = undefined
      c.res = committed
    }
  }
}

/**
 * The request's session, for code that has the Hono context but not the typed variable
 * (helpers, other middleware). Throws if the `sessions()` middleware is not mounted.
 *
 * @example
 * ```ts
 * const session = getSession(c)
 * if (!(await session.has('userId'))) return c.redirect('/login')
 * ```
 */
export function getSession<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(c: Context): Session<Data, Flash> {
  const session = c.get('session') as Session<Data, Flash> | undefined
  if (session === undefined) throw new Error('cloakroom: no session on this context; mount app.use(sessions(options)) before this route')
  return session
}
