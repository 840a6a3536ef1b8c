import type { ResponseView, SessionEngine } from './engine.js'
import type { Session } from './session.js'
import { SessionStatus } from './status.js'
import type { JsonShape } from './json.js'

/**
 * Whether a response with `status` commits the session, whether the handler returned it or threw
 * an error that the framework rendered as it. Below 500 every change commits (a 401 or 404 is an
 * answer, as in actix-session). From 500 nothing does, as in tower-sessions and Django: the
 * handler's changes may be half made. Except a purge: a logout that a later failure undid would
 * leave alive a session that the user and the code believe ended (the OWASP Session Management
 * Cheat Sheet asks for the server-side session to be invalidated on logout). A purge discards every
 * other change, so committing it commits nothing the handler left half made.
 *
 * @example
 * ```ts
 * commitsAt(401, session) // true
 * commitsAt(500, session) // false, unless session.status === 'purged'
 * ```
 */
export function commitsAt(status: number, session: { readonly status: SessionStatus }): boolean {
  return status < 500 || session.status === SessionStatus.Purged
}

/**
 * Commits a purge, and nothing else, for when no response the caller can reach will carry the
 * session: a handler error that escapes `handle()` or an adapter, a reply that is never written.
 * The record is deleted, so the old cookie is dead wherever the store can invalidate; the removal
 * cookie is lost with the response. A store failure is logged by the manager; this never rejects.
 *
 * @example
 * ```ts
 * try {
 *   response = await handler(session)
 * } catch (error) {
 *   await commitPurgeOnly(engine, session, request)
 *   throw error
 * }
 * ```
 */
export async function commitPurgeOnly<Data extends JsonShape<Data>>(engine: SessionEngine<Data>, session: Session<Data>, request?: Request): Promise<void> {
  if (session.status !== SessionStatus.Purged) return
  try {
    await engine.commit(session, { status: 500, headers: new Headers() }, request)
  } catch {
    // commit() never rejects for session errors; the handler's error is the one to report.
  }
}

/**
 * What an adapter does once the handler is done: when `thrown` is the session's own store failure
 * (left uncaught by the handler), the engine's failure response (the same opaque answer as for a
 * caught one); otherwise the commit into `response`, resolving to a replacement `Response` or
 * `null`; and `null` at once when there is nothing to commit (no promise for an untouched session).
 *
 * @example
 * ```ts
 * const settling = commitOrFailure(engine, session, { status: res.statusCode, headers }, request, thrownError)
 * const replacement = settling === null ? null : await settling
 * ```
 */
export function commitOrFailure<Data extends JsonShape<Data>>(
  engine: SessionEngine<Data>,
  session: Session<Data>,
  response: ResponseView,
  request?: Request,
  thrown?: unknown,
): Promise<Response | null> | null {
  const failure = thrown === undefined ? null : engine.failureResponse(session, thrown, request)
  if (failure !== null) return failure
  return engine.pending(session) ? engine.commit(session, response, request) : null
}
