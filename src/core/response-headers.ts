import type { HeaderView, SessionEngine } from './engine.js'
import type { Session } from './session.js'
import type { JsonShape } from './json.js'

/** One `Cache-Control` directive: its lower-cased name, and whether it carried an argument. */
interface Directive {
  name: string
  qualified: boolean
}

/**
 * Splits a `Cache-Control` value into directives (RFC 9111 §5.2: `token [ "=" ( token / quoted-string ) ]`),
 * reading a quoted argument as a whole, so a `no-store` or `private` inside quotes is no directive.
 */
function directives(value: string): Directive[] {
  const found: Directive[] = []
  let i = 0
  while (i < value.length) {
    while (i < value.length && /[\s,]/.test(value[i] as string)) i++
    const start = i
    while (i < value.length && !/[\s,=]/.test(value[i] as string)) i++
    const name = value.slice(start, i).toLowerCase()
    while (i < value.length && /[ \t]/.test(value[i] as string)) i++
    let qualified = false
    if (value[i] === '=') {
      qualified = true
      i++
      while (i < value.length && /[ \t]/.test(value[i] as string)) i++
      if (value[i] === '"') {
        for (i++; i < value.length && value[i] !== '"'; i++) if (value[i] === '\\') i++
        i++
      } else {
        while (i < value.length && value[i] !== ',') i++
      }
    }
    if (name !== '') found.push({ name, qualified })
    // Skip anything up to the next comma (stray text after a directive is not another directive).
    while (i < value.length && value[i] !== ',') i++
  }
  return found
}

/**
 * A response that sets or clears the session cookie must never be stored by a shared cache.
 * Keeps a handler's own `no-store`, or its unqualified `private` unless it also says
 * `public`/`s-maxage`; replaces anything else with `no-store`. A qualified `private="field"` is not
 * private: it lets a shared cache store the response without the named fields (RFC 9111 §5.2.2.7).
 *
 * @example
 * ```ts
 * markNoStore(headers) // 'public, max-age=60' → 'no-store'; 'private, max-age=60' stays
 * markNoStore(headers) // 'private="x-debug", max-age=3600' → 'no-store'
 * ```
 */
export function markNoStore(headers: HeaderView): void {
  const current = headers.get('cache-control')
  if (current !== null) {
    const given = directives(current)
    if (given.some((d) => d.name === 'no-store' && !d.qualified)) return
    const privateOnly = given.some((d) => d.name === 'private' && !d.qualified)
    if (privateOnly && !given.some((d) => d.name === 'public' || d.name === 's-maxage')) return
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

/**
 * The empty 500 every failure path answers with: no body, and `Cache-Control: no-store`, so no
 * cache keeps an answer that says nothing about the resource.
 *
 * @example
 * ```ts
 * return onError === undefined ? serverErrorResponse() : onError(failure, request)
 * ```
 */
export function serverErrorResponse(): Response {
  return new Response(null, { status: 500, headers: { 'cache-control': 'no-store' } })
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
 * When `thrown` (an error the handler threw, that the framework rendered into `response`) is the
 * session's own store failure, the engine's failure response replaces it instead.
 *
 * @example
 * ```ts
 * const response = await handler(session)
 * return commitToResponse(manager, session, response, request)
 * ```
 */
export async function commitToResponse<Data extends JsonShape<Data>>(
  engine: SessionEngine<Data>,
  session: Session<Data>,
  response: Response,
  request?: Request,
  thrown?: unknown,
): Promise<Response> {
  const failure = thrown === undefined ? null : engine.failureResponse(session, thrown, request)
  let replacement: Response | null = null
  let headers = response.headers
  if (failure !== null) {
    replacement = await failure
  } else {
    if (!engine.pending(session)) return response
    if (!headersAreMutable(headers)) headers = new Headers(headers)
    replacement = await engine.commit(session, { status: response.status, headers }, request)
  }
  if (replacement !== null) {
    response.body?.cancel().catch(() => {})
    return replacement
  }
  if (headers === response.headers) return response
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
}
