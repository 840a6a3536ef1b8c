import type { DefaultContext, DefaultState, ExtendableContext, Middleware } from 'koa'
import type { RegisteredData, RegisteredFlash } from '../../core/register.js'
import type { Session } from '../../core/session.js'
import { readsRequest, type SessionOptions } from '../../core/options.js'
import { createSessionManager } from '../../create.js'
import { nodeHeaderView } from '../../http/node-headers.js'
import { cookieHeaderOf, toWebRequest } from '../../http/node-request.js'
import { answerThrow } from './after-throw.js'
import { replaceResponse } from './replace.js'
import type { JsonShape } from '../../core/json.js'

declare module 'koa' {
  interface DefaultContext {
    /** The request's session, set by the `cloakroom/koa` middleware (clashes with koa-session). */
    session: Session<RegisteredData>
  }
  interface DefaultState {
    /** The request's session, set by the `cloakroom/koa` middleware (same as `ctx.session`). */
    session: Session<RegisteredData>
  }
}

/** What the middleware touches on a context, whatever state and context types the app declares. */
type SessionContext = ExtendableContext & { session: Session<RegisteredData>; state: { session: Session<RegisteredData> } }

/**
 * Koa middleware (Koa 2 and 3) that gives every request a session at `ctx.session` and
 * `ctx.state.session`, and commits it after the downstream middleware resolved, which is before
 * Koa writes anything. Options are checked when it is created: a bad one throws at start-up.
 *
 * A downstream throw is rethrown to whatever renders it (Koa's own `ctx.onerror`, or your
 * error-handling middleware mounted outside this one), and the session is committed as that
 * response's head leaves: the status it is sent with decides, as for any response (below 500 the
 * session commits, from 500 only a `purge()` does). The session's own store failure is instead
 * answered with the manager's empty 500 (or `onError`'s response). `ctx.respond = false` and
 * writes to `ctx.res` are outside the guarantee, but a purge always deletes the record.
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { CookieStore } from 'cloakroom'
 * import { sessions } from 'cloakroom/koa'
 *
 * declare module 'cloakroom' {
 *   interface Register { data: { counter?: number } } // types ctx.session for the whole program
 * }
 *
 * const app = new Koa()
 * app.use(sessions({ store: new CookieStore(), keys: [process.env.SESSION_KEY!] }))
 * app.use(async (ctx) => {
 *   const counter = ((await ctx.session.get('counter')) ?? 0) + 1 // number
 *   ctx.session.insert('counter', counter)
 *   ctx.body = { counter }
 * })
 * ```
 */
export function sessions<StateT = DefaultState, ContextT = DefaultContext>(options: SessionOptions): Middleware<StateT, ContextT> {
  const manager = createSessionManager<RegisteredData>(options)
  // The web Request is only read by onError and describe: copying every header is wasted work without them.
  const requestFor = !readsRequest(options) ? (): undefined => undefined : (ctx: ExtendableContext): Request => toWebRequest(ctx.req)

  async function cloakroomSessions(ctx: SessionContext, next: () => Promise<unknown>): Promise<void> {
    const session = manager.begin(cookieHeaderOf(ctx.req))
    ctx.session = session
    ctx.state.session = session
    try {
      await next()
    } catch (error) {
      // The session's own store failure gets the same opaque answer as a caught one; any other
      // throw goes on to the app's error handling, which picks the status the session commits by.
      if (!(await answerThrow(manager, session, ctx, error, () => requestFor(ctx)))) throw error
      return
    }
    if (!manager.pending(session)) return
    // `ctx.respond = false` or a head already out: the app writes the response itself, outside the
    // guarantee. The store is still written (a purge must happen); the cookie goes only where it still can.
    const outside = ctx.respond === false || ctx.headerSent
    const headers = ctx.headerSent ? new Headers() : nodeHeaderView(ctx.res)
    const replacement = await manager.commit(session, { status: ctx.status, headers }, requestFor(ctx))
    if (replacement !== null && !outside) replaceResponse(ctx, replacement)
  }
  return cloakroomSessions as unknown as Middleware<StateT, ContextT>
}

/**
 * The request's session, for code that has the Koa context but not the typed property (helpers,
 * other middleware). Throws if the `sessions()` middleware has not run for this request.
 *
 * @example
 * ```ts
 * app.use(async (ctx, next) => {
 *   if (!(await getSession(ctx).has('userId'))) return ctx.redirect('/login')
 *   await next()
 * })
 * ```
 */
export function getSession<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(
  ctx: ExtendableContext & { state: unknown },
): Session<Data, Flash> {
  const session = (ctx.state as { session?: Session<RegisteredData> } | undefined)?.session
  if (session === undefined) throw new Error('cloakroom: no session on this context; mount app.use(sessions(options)) before this middleware')
  return session as unknown as Session<Data, Flash>
}
