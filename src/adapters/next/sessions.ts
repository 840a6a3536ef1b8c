import { commitPurgeOnly } from '../../core/commit-rule.js'
import { ConfigError, type CloakroomError } from '../../core/errors.js'
import type { JsonShape } from '../../core/json.js'
import type { SessionManager } from '../../core/manager.js'
import type { SessionOptions } from '../../core/options.js'
import type { RegisteredData } from '../../core/register.js'
import { commitToResponse } from '../../core/response-headers.js'
import type { Session } from '../../core/session.js'
import { SessionStatus } from '../../core/status.js'
import { createSessionManager } from '../../create.js'
import { CapturedHead, cookieOfLine, isReadOnlyJar, type NextCookieJar } from './cookie-jar.js'
import { answerResponse, nextAnswerOf } from './next-errors.js'
import { readOnlySession, SessionReadOnlyError } from './read-only.js'
import { shareWithRender } from './middleware-cookies.js'

/** The part of `await headers()` from `next/headers` that cloakroom reads. */
export interface NextHeaderList {
  get(name: string): string | null
  forEach(callback: (value: string, name: string) => void): void
}

/** Options of {@link nextSessions}: the session options, and Next's request helpers. */
export type NextSessionOptions<Data extends JsonShape<Data> = RegisteredData> = SessionOptions<Data> & {
  /**
   * `cookies` from `next/headers`, for `read()` and `write()` (server components and server
   * actions). Passed in rather than imported, so that cloakroom imports nothing of Next.js.
   */
  cookies?: () => Promise<NextCookieJar>
  /**
   * `headers` from `next/headers`: lets `describe` and `onError` see the request in a server
   * action (`write()`), where there is no `Request`. Without it they get `undefined` there.
   */
  headers?: () => Promise<NextHeaderList>
}

/** A route handler as Next.js calls it: the request, and `{ params }`. */
export type RouteHandler<Req extends Request, Context> = (request: Req, context: Context) => Promise<Response>

/** Sessions for a Next.js App Router app; see {@link nextSessions}. */
export interface NextSessions<Data extends JsonShape<Data> = RegisteredData> {
  /** The manager: `listUserSessions`, `revokeUserSessions`, `on(event)`, and `handle()` for anything else. */
  readonly manager: SessionManager<Data>
  /**
   * The request's session, to read: in a server component (and anywhere `cookies()` works). Every
   * change throws `SessionReadOnlyError`: Next.js lets a server component set no cookie, so the
   * change could never reach the browser. Needs the `cookies` option.
   */
  read(): Promise<Session<Data>>
  /**
   * Runs `change` with the request's session, then commits it through `cookies()` before
   * resolving to what `change` returned: in a server action (or a route handler that prefers
   * `cookies()` to {@link NextSessions.route}). A `redirect()`, `notFound()`, `forbidden()` or
   * `unauthorized()` thrown inside commits first, then goes on; any other error commits only a
   * `purge()`, then goes on. A store failure rejects with the `StoreError` (Next answers 500).
   * Called in a server component with a change, it throws `SessionReadOnlyError` before any store
   * write. Needs the `cookies` option.
   */
  write<T>(change: (session: Session<Data>) => T | Promise<T>): Promise<Awaited<T>>
  /**
   * Wraps a route handler: `handler` gets the request's session, and the response it returns (or
   * the one a thrown `redirect()` / `notFound()` stands for) leaves with the session committed:
   * `Set-Cookie`, `Cache-Control: no-store`, `Vary: Cookie`. Its status decides, as with every
   * adapter: below 500 the session commits, from 500 only a `purge()` does. A store failure answers
   * an empty 500 (or `onError`'s response).
   */
  route<Req extends Request, Context = unknown>(
    handler: (request: Req, session: Session<Data>, context: Context) => Response | Promise<Response>,
  ): RouteHandler<Req, Context>
  /**
   * Wraps a middleware (`middleware.ts`, edge runtime; or Node): `handler` gets the request's
   * session and returns `NextResponse.next()`, a redirect or a rewrite; the session is committed
   * into it as {@link NextSessions.route} does, and a cookie it sets is also seen by the route it
   * leads to. The store must be one the edge runtime reaches (the cookie store, or a store over
   * HTTP): the in-memory store of the middleware is not the server's.
   */
  middleware<Req extends Request, Event = unknown>(
    handler: (request: Req, session: Session<Data>, event: Event) => Response | Promise<Response>,
  ): (request: Req, event: Event) => Promise<Response>
}

/** What a failed commit answers in a route handler: the manager's empty 500 (or `onError`'s). */
function emptyServerError(): Response {
  return new Response(null, { status: 500, headers: { 'cache-control': 'no-store' } })
}

/** A `Request` for `describe` and `onError` in a server action, built from `headers()`. */
async function requestFromHeaders(headers: NextSessionOptions['headers']): Promise<Request> {
  if (headers === undefined) return new Request('http://localhost/')
  const list = await headers()
  const copy = new Headers()
  list.forEach((value, name) => copy.append(name, value))
  const host = list.get('x-forwarded-host') ?? list.get('host') ?? 'localhost'
  const protocol = list.get('x-forwarded-proto') === 'https' ? 'https' : 'http'
  return new Request(`${protocol}://${host}/`, { headers: copy })
}

/**
 * Sessions for the Next.js App Router (Next 15 and 16): route handlers, server actions, server
 * components and middleware. Options are checked when it is created: a bad one throws at start-up.
 * cloakroom imports nothing of Next.js: pass `cookies` (and, for `describe`, `headers`) from
 * `next/headers`.
 *
 * @example
 * ```ts
 * // lib/sessions.ts
 * import { cookies } from 'next/headers'
 * import { CookieStore } from 'cloakroom'
 * import { nextSessions } from 'cloakroom/next'
 *
 * export const sessions = nextSessions<{ user?: string }>({ store: new CookieStore(), keys: [process.env.SESSION_KEY!], cookies })
 *
 * // app/page.tsx (a server component: read only)
 * const user = await (await sessions.read()).get('user')
 *
 * // app/actions.ts
 * 'use server'
 * export async function login(form: FormData) {
 *   await sessions.write((session) => {
 *     session.insert('user', String(form.get('user')))
 *     session.renew()
 *   })
 *   redirect('/')
 * }
 *
 * // app/api/me/route.ts
 * export const GET = sessions.route(async (request, session) => Response.json({ user: (await session.get('user')) ?? null }))
 * ```
 */
export function nextSessions<Data extends JsonShape<Data> = RegisteredData>(options: NextSessionOptions<Data>): NextSessions<Data> {
  const { cookies, headers, ...sessionOptions } = options
  if (cookies !== undefined && typeof cookies !== 'function') throw new ConfigError('cookies must be the cookies function of next/headers')
  if (headers !== undefined && typeof headers !== 'function') throw new ConfigError('headers must be the headers function of next/headers')
  // A failed commit in a server action has no response to replace: the error itself is thrown.
  // onError is wrapped to catch it for the requests write() builds; any other goes to the user's.
  const actionFailures = new WeakMap<Request, CloakroomError | null>()
  const onError = sessionOptions.onError
  const manager = createSessionManager<Data>({
    ...sessionOptions,
    onError: (error, request) => {
      if (request !== undefined && actionFailures.has(request)) {
        actionFailures.set(request, error)
        return emptyServerError()
      }
      return onError === undefined ? emptyServerError() : onError(error, request)
    },
  })
  // Checked by the manager above; read here to find the session cookie in Next's cookie jar.
  const cookieName = sessionOptions.cookie?.name ?? 'id'

  function jar(call: string): Promise<NextCookieJar> {
    if (cookies === undefined) {
      throw new ConfigError(`sessions.${call}() reads the session through next/headers: pass it to nextSessions({ ..., cookies }) (import { cookies } from 'next/headers')`)
    }
    return cookies()
  }

  function begin(cookieJar: NextCookieJar): Session<Data> {
    // The jar holds the request's cookies, with those a middleware or this action set since.
    const value = cookieJar.get(cookieName)?.value
    return manager.begin(value === undefined ? undefined : `${cookieName}=${value}`)
  }

  async function handle<Req extends Request>(
    request: Req,
    run: (session: Session<Data>) => Response | Promise<Response>,
  ): Promise<{ response: Response; committed: boolean }> {
    const session = manager.begin(request.headers.get('cookie'))
    let response: Response
    try {
      response = await run(session)
    } catch (error) {
      const answer = nextAnswerOf(error)
      if (answer === undefined) {
        // The session's own store failure, left uncaught, gets the opaque answer; any other error
        // is the handler's, for Next.js to report (its 500 carries no cookie: the record is deleted).
        const failure = manager.failureResponse(session, error, request)
        if (failure !== null) return { response: await failure, committed: true }
        await commitPurgeOnly(manager, session, request)
        throw error
      }
      response = answerResponse(answer)
    }
    if (!manager.pending(session)) return { response, committed: false }
    return { response: await commitToResponse(manager, session, response, request), committed: true }
  }

  return {
    manager,

    async read() {
      return readOnlySession(begin(await jar('read')))
    },

    async write<T>(change: (session: Session<Data>) => T | Promise<T>): Promise<Awaited<T>> {
      const cookieJar = await jar('write')
      const request = await requestFromHeaders(headers)
      actionFailures.set(request, null)
      const session = begin(cookieJar)
      let result: Awaited<T> | undefined
      let thrown: { error: unknown; answer: boolean } | undefined
      let status = 200
      try {
        result = await change(session)
      } catch (error) {
        const answer = nextAnswerOf(error)
        thrown = { error, answer: answer !== undefined }
        status = answer?.status ?? 500
        // The session's own store failure, left uncaught: logged and reported like a caught one.
        const failure = manager.failureResponse(session, error, request)
        if (failure !== null) {
          await failure
          throw error
        }
      }
      // Asked before the store is written (see isReadOnlyJar). A change that only read, in a server
      // component, commits nothing: a refresh (extendOn 'every-request') could not be sent there.
      const readOnly = isReadOnlyJar(cookieJar)
      if (readOnly && session.status !== SessionStatus.Unchanged) throw new SessionReadOnlyError('sessions.write()')
      if (!readOnly && manager.pending(session)) {
        const head = new CapturedHead()
        await manager.commit(session, { status, headers: head }, request)
        const failure = actionFailures.get(request)
        // A failed commit is thrown, unless the change itself failed: its error is the one to report.
        if (failure) throw thrown !== undefined && !thrown.answer ? thrown.error : failure
        try {
          for (const line of head.setCookies) cookieJar.set(cookieOfLine(line))
        } catch (error) {
          // Next.js refused the cookie after all (a page rendering after an action took the jar).
          throw new SessionReadOnlyError('sessions.write()', { cause: error })
        }
      }
      if (thrown !== undefined) throw thrown.error
      return result as Awaited<T>
    },

    route<Req extends Request, Context = unknown>(
      handler: (request: Req, session: Session<Data>, context: Context) => Response | Promise<Response>,
    ): RouteHandler<Req, Context> {
      return async (request, context) => (await handle(request, (session) => handler(request, session, context))).response
    },

    middleware<Req extends Request, Event = unknown>(
      handler: (request: Req, session: Session<Data>, event: Event) => Response | Promise<Response>,
    ): (request: Req, event: Event) => Promise<Response> {
      return async (request, event) => {
        const { response, committed } = await handle(request, (session) => handler(request, session, event))
        if (committed) shareWithRender(response, cookieName)
        return response
      }
    },
  }
}
