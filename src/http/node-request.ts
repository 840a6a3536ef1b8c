import type { IncomingMessage } from 'node:http'
import type { Session } from '../core/session.js'

/**
 * The request's `Cookie` header as one string. Node already joins repeated `Cookie` lines with
 * `'; '`; an array (from `joinDuplicateHeaders: false` setups or hand-built requests) is joined the
 * same way, so every cookie stays visible to the parser.
 */
export function cookieHeaderOf(req: IncomingMessage): string | undefined {
  const value = req.headers.cookie as string | string[] | undefined
  return Array.isArray(value) ? value.join('; ') : value
}

/**
 * A body-less web `Request` describing `req` (method, absolute URL from the `Host` header, headers),
 * for the context of `onError`. Build it only when it is needed: it copies every header. The path
 * is the one the client asked for: inside a mounted router or sub-app, Express (and Connect) strip
 * the mount path from `req.url` and keep the original in `req.originalUrl`.
 *
 * Methods the fetch standard forbids in a `Request` (`CONNECT`, `TRACE`, `TRACK`) are described as
 * `GET`, and a missing or unusable `Host` as `localhost`, since this is context, not a proxy.
 */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    // HTTP/2 pseudo-headers (':path'…) are not header names a `Headers` accepts.
    if (name.startsWith(':')) continue
    try {
      headers.append(name, raw[i + 1] as string)
    } catch {
      // A value Node's parser let through but fetch refuses: context only, so leave it out.
    }
  }
  const encrypted = (req.socket as { encrypted?: boolean } | null)?.encrypted === true
  const url = requestUrl(req, encrypted ? 'https:' : 'http:')
  try {
    return new Request(url, { method: req.method ?? 'GET', headers })
  } catch {
    return new Request(url, { method: 'GET', headers })
  }
}

function requestUrl(req: IncomingMessage & { originalUrl?: unknown }, protocol: string): URL {
  const original = req.originalUrl
  const path = typeof original === 'string' && original.startsWith('/') ? original : (req.url ?? '/')
  const host = req.headers.host ?? 'localhost'
  // Origin-form is appended, not resolved: a path such as '//other.example/x' must stay a path.
  const target = path.startsWith('/') ? `${protocol}//${host}${path}` : path
  try {
    return new URL(target)
  } catch {
    try {
      return new URL(`${protocol}//localhost${path.startsWith('/') ? path : '/'}`)
    } catch {
      return new URL(`${protocol}//localhost/`)
    }
  }
}

const SESSION = Symbol('cloakroom.session')
type Carrying = IncomingMessage & { [SESSION]?: Session<object> }

/**
 * Keeps the request's session on the request under a private symbol, for `getSession(req)`: it
 * survives another middleware reassigning `req.session`, and unlike a WeakMap from requests to
 * sessions it costs the garbage collector nothing extra (ephemerons are the expensive kind).
 */
export function attachSession(req: IncomingMessage, session: Session<object>): void {
  ;(req as Carrying)[SESSION] = session
}

/**
 * The session {@link attachSession} put on the request, if any.
 */
export function attachedSession(req: IncomingMessage): Session<object> | undefined {
  return (req as Carrying)[SESSION]
}
