import type { HeaderView, SessionEngine } from './engine.js'
import type { Session } from './session.js'

/**
 * A response that sets or clears the session cookie must never be stored by a shared cache.
 * Keeps a handler's own `no-store`, or its `private` unless it also says `public`/`s-maxage`;
 * replaces anything else with `no-store`.
 */
export function markNoStore(headers: HeaderView): void {
  const current = headers.get('cache-control')
  if (current !== null) {
    const directives = current.toLowerCase()
    if (/(?:^|[\s,])no-store(?:$|[\s,=])/.test(directives)) return
    if (/(?:^|[\s,])private(?:$|[\s,=])/.test(directives) && !/(?:^|[\s,])(?:public|s-maxage)(?:$|[\s,=])/.test(directives)) return
  }
  headers.set('cache-control', 'no-store')
}

/**
 * Adds `Cookie` to `Vary` (a response that depends on the session depends on the cookie),
 * keeping the handler's entries and leaving `Vary: *` alone.
 */
export function varyOnCookie(headers: HeaderView): void {
  const current = headers.get('vary')
  if (current === null || current.trim() === '') {
    headers.set('vary', 'Cookie')
    return
  }
  const fields = current.split(',').map((field) => field.trim().toLowerCase())
  if (fields.includes('*') || fields.includes('cookie')) return
  headers.set('vary', `${current}, Cookie`)
}

function headersAreMutable(headers: Headers): boolean {
  try {
    // Deleting an absent header is a no-op on a mutable Headers and throws on an immutable one
    // (a fetch() response, Response.redirect()).
    headers.delete('x-cloakroom-probe')
    return true
  } catch {
    return false
  }
}

/**
 * Commits `session` into a web `Response`: in place when its headers are mutable, else on a copy;
 * or returns the engine's replacement (store error, cookie too large), cancelling the handler's body.
 *
 * @example
 * ```ts
 * const response = await handler(session)
 * return commitToResponse(manager, session, response, request)
 * ```
 */
export async function commitToResponse<Data extends object>(
  engine: SessionEngine<Data>,
  session: Session<Data>,
  response: Response,
  request?: Request,
): Promise<Response> {
  if (!engine.pending(session)) return response
  const inPlace = headersAreMutable(response.headers)
  const headers = inPlace ? response.headers : new Headers(response.headers)
  const replacement = await engine.commit(session, { status: response.status, headers }, request)
  if (replacement !== null) {
    response.body?.cancel().catch(() => {})
    return replacement
  }
  if (inPlace) return response
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
}
